"""Train the zoo's beta-VAE on the digits' train split; write one checkpoint per exported graph.

Loss per batch = mean over samples of (Bernoulli reconstruction summed over the 64 pixels + beta * KL
summed over the latent dimensions): summing both per sample and averaging once keeps beta meaning what it
says (mixing a per-pixel mean with a per-dimension sum silently rescales beta).
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic, figures
from visionrt.errors import UserInputError
from visionrt.extras import require
from visionrt.train import checkpoint, data, evaluate, loop, photos, runs
from visionrt.train.config import FromSpec


@dataclass
class VAETrainConfig(FromSpec):
    MODEL: ClassVar[str] = "vae_decoder"

    seed: int = 0
    beta: float = 1.0
    latent: int = 8
    hidden: int = 256
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 300
    patience: int = 40
    data: Path | None = None  # a folder of the user's own images (read as 8x8 ink, like the encoder's input)
    runs_dir: Path = Path("runs")
    progress: bool = True


def loss_terms(model, ink, noise, beta: float):
    """(loss, reconstruction, KL), each the mean over the batch of a per-sample sum."""
    torch = require("torch", "train")
    recon, mu, logvar = model(ink, noise)
    reconstruction = torch.nn.functional.binary_cross_entropy(recon, ink, reduction="none").flatten(1).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return reconstruction + beta * kl, reconstruction, kl


def negative_elbo(model, ink: np.ndarray, seed: int, beta: float = 1.0) -> dict:
    torch = require("torch", "train")
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(ink)
    with torch.no_grad():
        noise = torch.randn(len(x), model.encoder.mu.out_features, generator=generator)
        loss, reconstruction, kl = loss_terms(model, x, noise, beta)
    return {"neg_elbo_nats": loss.item(), "reconstruction_nats": reconstruction.item(), "kl_nats": kl.item()}


def train_vae(config: VAETrainConfig) -> Path:
    torch = require("torch", "train")
    tqdm = require("tqdm", "train").tqdm
    from visionrt.model_zoo.vae import VAE

    torch.manual_seed(config.seed)
    dataset = folder_data(config.data, config.seed) if config.data else data.load_digits_data(seed=config.seed)
    train_x = torch.from_numpy(dataset.part("train")[0])
    val_x = dataset.part("val")[0]
    model = VAE(config.latent, config.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    run_dir = runs.new_run_dir(config.runs_dir, "vae", config.seed)
    history, best, started = [], loop.BestState(config.patience), time.perf_counter()
    for epoch in tqdm(range(config.epochs), desc="vae", unit="epoch", disable=not config.progress, mininterval=0.5):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            x = train_x[order[start : start + config.batch_size]]
            loss, _, _ = loss_terms(model, x, torch.randn(len(x), config.latent, generator=generator), config.beta)
            total += loop.optimizer_step(optimizer, loss) * len(x)
        model.eval()
        val = negative_elbo(model, val_x, config.seed + 1, config.beta)["neg_elbo_nats"]
        history.append({"epoch": epoch, "train_loss": total / len(train_x), "val_loss": val, "val_acc": -val})
        if best.offer(-val, epoch, model):  # lower is better
            break
    best.restore(model)
    model.eval()
    seconds = time.perf_counter() - started
    test = negative_elbo(model, dataset.part("test")[0], config.seed + 2, config.beta)
    print(f"test negative ELBO {test['neg_elbo_nats']:.2f} nats (reconstruction {test['reconstruction_nats']:.2f}, "
          f"KL {test['kl_nats']:.2f})")
    common = {
        "arch_kwargs": {"latent": config.latent, "hidden": config.hidden}, "labels": None, "beta": config.beta,
        "latent": config.latent, "metrics": test,
        "data": {"source": f"folder {Path(config.data).resolve()}" if config.data else "sklearn.datasets.load_digits",
                 "seed": config.seed,
                 "sizes": {n: int(len(getattr(dataset.split, n))) for n in ("train", "val", "test")}},
        "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                         "best_epoch": best.step, "train_seconds": round(seconds, 1)},
    }
    checkpoint.save(run_dir / "vae_encoder.pt", {**common, "model": "vae_encoder",
                                                 "state_dict": model.encoder.state_dict(),
                                                 "preprocessing": image_record()})
    checkpoint.save(run_dir / "vae_decoder.pt", {**common, "model": "vae_decoder",
                                                 "state_dict": model.decoder.state_dict(),
                                                 "preprocessing": image_record()})
    atomic.write_text(run_dir / "training.json", json.dumps({"test": test, "history": history}, indent=1))
    save_pictures(model, dataset, config, run_dir)
    evaluate.save_loss_curve_png(history, run_dir / "loss_curve.png", "VAE training", loss_label="negative ELBO (nats)",
                                 metric_label="- validation negative ELBO", metric_range=None)
    return run_dir


def folder_data(folder: Path, seed: int) -> data.DigitsData:
    """A folder of images read exactly as the runtime's encoder reads its input (8x8 ink), split 60/20/20
    by a seeded shuffle. There are no labels (-1): the VAE does not need them."""
    from visionrt.artifact import Preprocessing
    from visionrt.runtime.tasks import images

    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"--data {folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in photos.IMAGE_SUFFIXES)
    if len(files) < 10:
        raise UserInputError(f"--data {folder}: found {len(files)} images; VAE training needs at least 10")
    ink = images.preprocess(files, Preprocessing.from_dict(image_record(), "the VAE's image record"))
    order = np.random.default_rng(seed).permutation(len(files))
    held = max(1, len(files) // 5)
    split = data.Split(np.sort(order[2 * held :]), np.sort(order[:held]), np.sort(order[held : 2 * held]))
    return data.DigitsData(ink, np.full(len(files), -1, np.int64), split)


def image_record() -> dict:
    """Encoder input and decoder output: ink in [0, 1] at 8x8; images are dark ink on light paper."""
    return {"color": "L", "invert": True, "size": [8, 8], "resample": "box", "scale": 1.0 / 255.0,
            "mean": [0.0], "std": [1.0]}


def validation_inputs(payload: dict) -> np.ndarray:
    """Encoder: the test split's ink. Decoder: latent draws from the prior N(0, I), seeded."""
    if payload["model"] == "vae_encoder":
        return data.load_digits_data(seed=payload["data"]["seed"]).part("test")[0]
    rng = np.random.default_rng(payload["data"]["seed"] + 5)
    return rng.standard_normal((256, payload["latent"])).astype(np.float32)


def calibration_inputs(payload: dict) -> np.ndarray:
    """Encoder: the training split's ink. Decoder: prior draws of another seed than validation's."""
    if payload["model"] == "vae_encoder":
        return data.load_digits_data(seed=payload["data"]["seed"]).part("train")[0]
    return np.random.default_rng(payload["data"]["seed"] + 4001).standard_normal((512, payload["latent"])).astype(np.float32)


def write_samples(payload: dict, folder: Path) -> list[Path]:
    """Test digits for the demo to reconstruct (the encoder's; the decoder takes latents, not files)."""
    from visionrt.train.digits import write_samples as digit_samples

    return digit_samples(payload, folder) if payload["model"] == "vae_encoder" else []


def save_pictures(model, dataset: data.DigitsData, config: VAETrainConfig, run_dir: Path) -> None:
    """A 10x10 grid of prior samples, and latent interpolations between pairs of test digits."""
    torch = require("torch", "train")
    generator = torch.Generator().manual_seed(config.seed + 7)
    with torch.no_grad():
        grid = model.decoder(torch.randn(100, config.latent, generator=generator)).numpy()
        test_x, test_y = dataset.part("test")
        pairs = interpolation_pairs(test_y)
        mu, _ = model.encoder(torch.from_numpy(test_x))
        steps = torch.linspace(0, 1, 10)[:, None]
        rows = [model.decoder(mu[a] * (1 - steps) + mu[b] * steps).numpy() for a, b in pairs]
    _save_grid(grid.reshape(10, 10, 8, 8), run_dir / "samples.png", "100 samples from N(0, I), decoded")
    _save_grid(np.stack(rows)[:, :, 0], run_dir / "interpolation.png", "latent interpolation between test digits")


def interpolation_pairs(labels: np.ndarray) -> list[tuple[int, int]]:
    """Five pairs of test images to interpolate between: chosen digit pairs, or (unlabelled data) in order."""
    wanted = ((0, 6), (1, 7), (3, 8), (4, 9), (2, 5))
    if all((labels == a).any() and (labels == b).any() for a, b in wanted):
        return [(int(np.flatnonzero(labels == a)[0]), int(np.flatnonzero(labels == b)[0])) for a, b in wanted]
    return [(2 * i % len(labels), (2 * i + 1) % len(labels)) for i in range(5)]


def _save_grid(tiles: np.ndarray, path: Path, title: str) -> Path:
    plt = figures.pyplot()

    rows, columns = tiles.shape[:2]
    mosaic = np.ones((rows * 9 + 1, columns * 9 + 1))
    for r in range(rows):
        for c in range(columns):
            mosaic[1 + 9 * r : 9 + 9 * r, 1 + 9 * c : 9 + 9 * c] = 1.0 - tiles[r, c]
    figure, axes = plt.subplots(figsize=(columns * 0.55, rows * 0.55 + 0.4), dpi=110)
    axes.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_title(title, fontsize=8)
    axes.axis("off")
    figure.tight_layout()
    return figures.save_figure(figure, path)


def sample_quality(payload: dict, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """The bar, through the runtime: n prior samples decoded by the installed ONNX decoder and classified
    by the zoo's digits classifier: mean top-1 probability, and how many of the ten digits appear."""
    from visionrt import runtime

    vae = runtime.load("vae", backend="onnxruntime:cpu", precision="fp32")
    classifier = runtime.load("digits", backend="onnxruntime:cpu", precision="fp32")
    predictions = classifier.classify(vae.sample(n, seed=seed))
    return {f"samples classified by the digits model: mean top-1 probability (n={n})":
            float(np.mean([p.probability for p in predictions])),
            "distinct digits among the samples": float(len({p.label for p in predictions}))}
