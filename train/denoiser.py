"""Train the zoo's denoising autoencoder on random patches of the bundled photos, with Gaussian noise.

Quality is measured on whole held-out photos (never cropped for training) against two references: the
noisy input itself and the best classical filter (Gaussian or median, strength chosen on the validation
photo). Noise is drawn with fixed seeds so every number is reproducible.
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic, figures
from visionrt.extras import require
from visionrt.runtime.tasks.image_to_image import pad_to_multiple
from visionrt.train import checkpoint, evaluate, photos, runs, steps
from visionrt.train.config import FromSpec

NOISE = {"kind": "gaussian", "sigma": 0.1, "clip": [0.0, 1.0]}  # sigma in [0, 1] units (25.5 / 255)


@dataclass
class DenoiserTrainConfig(FromSpec):
    MODEL: ClassVar[str] = "denoiser"

    seed: int = 0
    lr: float = 1e-3
    batch_size: int = 16
    width: int = 32  # channels at full resolution; 2x at half and quarter resolution
    steps: int = 1500
    patch: int = 64
    eval_every: int = 250  # steps between validation-photo PSNR checks (the best one is kept)
    data: Path | None = None  # a folder of the user's own photos instead of the bundled ones
    runs_dir: Path = Path("runs")
    progress: bool = True



def add_noise(clean: np.ndarray, rng: np.random.Generator, sigma: float = NOISE["sigma"]) -> np.ndarray:
    return np.clip(clean + sigma * rng.standard_normal(clean.shape).astype(np.float32), 0.0, 1.0)


def psnr(reference: np.ndarray, estimate: np.ndarray) -> float:
    mse = float(np.mean((reference.astype(np.float64) - estimate.astype(np.float64)) ** 2))
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def noisy_photos(part: str, seed: int, data: Path | None = None) -> tuple[dict, dict]:
    """(clean photos, noisy photos) of a split, the noise fixed by ``seed`` and the photo's position."""
    clean = photos.load_split(part, data)
    noisy = {name: add_noise(photo, np.random.default_rng(seed + i)) for i, (name, photo) in enumerate(clean.items())}
    return clean, noisy


def pad4(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """(H, W, 3) -> padded as the runtime pads it (multiples of 4), and the original size."""
    return pad_to_multiple(image, 4), image.shape[:2]


def denoise_photo(model, noisy: np.ndarray) -> np.ndarray:
    """Run a torch image-to-image model on a whole (H, W, 3) photo as the runtime does: pad to 4, crop back."""
    torch = require("torch", "train")
    padded, (height, width) = pad4(noisy)
    with torch.no_grad():
        out = model(torch.from_numpy(padded.transpose(2, 0, 1).copy())[None])[0].numpy()
    return out.transpose(1, 2, 0)[:height, :width]


def mean_psnr(clean: dict, estimates: dict) -> float:
    return float(np.mean([psnr(clean[name], estimates[name]) for name in clean]))


def classical_baselines(seed: int, data: Path | None = None) -> dict:
    """Gaussian and median filters, strength chosen on the validation photo, scored on the test photos."""
    ndimage = require("scipy.ndimage", "train")
    filters = {"gaussian": [lambda x, s=s: ndimage.gaussian_filter(x, sigma=(s, s, 0)) for s in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)],
               "median": [lambda x, k=k: ndimage.median_filter(x, size=(k, k, 1)) for k in (3, 5, 7)]}
    labels = {"gaussian": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0), "median": (3, 5, 7)}
    val_clean, val_noisy = noisy_photos("val", seed + 1000, data)
    test_clean, test_noisy = noisy_photos("test", seed + 2000, data)
    found = {}
    for kind, candidates in filters.items():
        scores = [mean_psnr(val_clean, {n: f(x) for n, x in val_noisy.items()}) for f in candidates]
        best = int(np.argmax(scores))
        found[kind] = {"parameter": labels[kind][best],
                       "test_psnr_db": mean_psnr(test_clean, {n: candidates[best](x) for n, x in test_noisy.items()})}
    return found


def train_denoiser(config: DenoiserTrainConfig) -> Path:
    torch = require("torch", "train")
    from visionrt.model_zoo.denoiser import DenoisingAutoencoder

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_photos = list(photos.load_split("train", config.data).values())
    val_clean, val_noisy = noisy_photos("val", config.seed + 1000, config.data)
    model = DenoisingAutoencoder(width=config.width)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps)
    run_dir = runs.new_run_dir(config.runs_dir, "denoiser", config.seed)
    started = time.perf_counter()

    def step_loss(step):
        clean = photos.random_patches(train_photos, config.batch_size, config.patch, rng)
        noisy = add_noise(clean, rng)
        return torch.nn.functional.mse_loss(model(torch.from_numpy(noisy)), torch.from_numpy(clean))

    def validate():
        return mean_psnr(val_clean, {n: denoise_photo(model, x) for n, x in val_noisy.items()}), None

    result = steps.train_steps(model, optimizer, schedule, config.steps, config.eval_every, step_loss, validate,
                               desc="denoiser", progress=config.progress, shown="val_psnr")
    history = result.history
    seconds = time.perf_counter() - started
    metrics = test_metrics(model, config)
    print(json.dumps(metrics, indent=1))
    write_reports(run_dir, model, history, metrics, config)
    checkpoint.save(run_dir / "best.pt", {
        "model": "denoiser", "arch_kwargs": {"width": config.width}, "state_dict": model.state_dict(),
        "labels": None, "preprocessing": preprocessing_record(), "noise": NOISE, "metrics": metrics,
        "data": {**photos.split_record(config.data), "seed": config.seed, "patch": config.patch},
        "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                         "best_step": result.best_step, "train_seconds": round(seconds, 1)},
    })
    return run_dir


def test_metrics(model, config: DenoiserTrainConfig) -> dict:
    clean, noisy = noisy_photos("test", config.seed + 2000, config.data)
    denoised = {n: denoise_photo(model, x) for n, x in noisy.items()}
    noisy_psnr, denoised_psnr = mean_psnr(clean, noisy), mean_psnr(clean, denoised)
    baselines = classical_baselines(config.seed, config.data)
    best_filter = max(baselines, key=lambda k: baselines[k]["test_psnr_db"])
    ssim = require("skimage.metrics", "train").structural_similarity
    return {
        "test_photos": list(clean), "noisy_psnr_db": noisy_psnr, "denoised_psnr_db": denoised_psnr,
        "gain_over_noisy_db": denoised_psnr - noisy_psnr,
        "best_filter": f"{best_filter} ({baselines[best_filter]['parameter']})",
        "best_filter_psnr_db": baselines[best_filter]["test_psnr_db"],
        "gain_over_best_filter_db": denoised_psnr - baselines[best_filter]["test_psnr_db"],
        "filters": baselines,
        "denoised_ssim": float(np.mean([ssim(clean[n], denoised[n], channel_axis=2, data_range=1.0) for n in clean])),
        "noisy_ssim": float(np.mean([ssim(clean[n], noisy[n], channel_axis=2, data_range=1.0) for n in clean])),
        "bottleneck_values_per_pixel": 2 * config.width / 16,
        "bottleneck_compression_ratio": 3 / (2 * config.width / 16),
    }


def preprocessing_record() -> dict:
    return {"color": "RGB", "scale": 1.0 / 255.0, "size": [None, None], "multiple": 4, "pad": "reflect",
            "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "output": "rgb01"}


def write_reports(run_dir: Path, model, history, metrics, config) -> None:
    atomic.write_text(run_dir / "training.json", json.dumps({"test": metrics, "history": history}, indent=1))
    evaluate.save_loss_curve_png(history, run_dir / "loss_curve.png", "denoiser training (x: step)",
                                 loss_label="train MSE", metric_label="validation PSNR (dB)", metric_range=None)
    clean, noisy = noisy_photos("test", config.seed + 2000, config.data)
    name = next(iter(clean))
    save_before_after([noisy[name], denoise_photo(model, noisy[name]), clean[name]], run_dir / "before_after.png",
                      ["noisy input", "denoised", "clean"])


def save_before_after(images: list, path: Path, titles: list[str]) -> Path:
    return save_before_after_rows([images], path, titles)


def save_before_after_rows(rows: list[list], path: Path, titles: list[str]) -> Path:
    """One row of pictures per photo, the columns titled once."""
    plt = figures.pyplot()

    figure, axes = plt.subplots(len(rows), len(titles), figsize=(4.2 * len(titles), 3.4 * len(rows)), dpi=110,
                                squeeze=False)
    for row, images in zip(axes, rows):
        for ax, image in zip(row, images):
            ax.imshow(np.clip(image, 0, 1))
            ax.axis("off")
    for ax, title in zip(axes[0], titles):
        ax.set_title(title)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def validation_inputs(payload: dict) -> dict[str, np.ndarray]:
    """Noisy crops of the test photos, and one whole noisy test photo (padded to a multiple of 4)."""
    seed = payload["data"]["seed"]
    clean, noisy = noisy_photos("test", seed + 2000)
    crops = photos.random_patches(list(noisy.values()), 64, 64, np.random.default_rng(seed + 3000))
    whole, _ = pad4(next(iter(noisy.values())))
    return {"real": crops, "whole_photo": whole.transpose(2, 0, 1)[None].copy()}


def calibration_inputs(payload: dict) -> np.ndarray:
    """Noisy crops of the training photos, for INT8 calibration (never test)."""
    seed = payload["data"]["seed"]
    _, noisy = noisy_photos("train", seed + 4000)
    return photos.random_patches(list(noisy.values()), 256, 64, np.random.default_rng(seed + 4001))


def write_samples(payload: dict, folder: Path) -> list[Path]:
    """Noisy test photos as PNGs (the demo denoises them)."""
    from PIL import Image

    _, noisy = noisy_photos("test", payload["data"]["seed"] + 2000)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, image in noisy.items():
        with atomic.atomic_path(folder / f"noisy_{name}.png") as tmp:
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(tmp, format="PNG")
        written.append(folder / f"noisy_{name}.png")
    return written
