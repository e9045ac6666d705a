"""Train the zoo's colorizer on the varied photo set (``visionrt photos``; ``--photos bundled`` for the 8
bundled ones), both heads (regression and Zhang-style classification), choose each head's decode on the
validation photos, and keep the head validation prefers; the test figures of both go into the model card.

Bars (held-out photos, judged at a long side of 512 px): RGB PSNR at least the grayscale baseline's (ab = 0) on
every kind of photo and on average 0.5 dB better, and Hasler-Suesstrunk colourfulness at least half of the
truth's, ranked in that order. A confidently wrong colour on an unfamiliar photo costs more PSNR than gray does,
so both heads are trained to estimate the mean colour: the regression head with squared error, the
classification head with plain cross-entropy (no class rebalancing: Zhang's rebalancing favours rare, vivid
bins, and on the varied photos it cost up to 6 dB on a kind). The annealed mean at T = 1 is then the posterior
mean, which falls back towards gray where the model is unsure; lower temperatures sharpen it towards the most
likely colour. The decode (temperature, and a chroma factor) is chosen on validation.
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic
from visionrt.extras import require
from visionrt.runtime.tasks.color import colorfulness, rgb_to_lab
from visionrt.runtime.tasks.image_to_image import colorize_array
from visionrt.train import checkpoint, evaluate, held_out, photos, runs, steps
from visionrt.train.config import FromSpec
from visionrt.train.denoiser import psnr, save_before_after_rows

AB_RANGE = 110.0


@dataclass
class ColorizerTrainConfig(FromSpec):
    MODEL: ClassVar[str] = "colorizer"

    seed: int = 0
    heads: tuple[str, ...] = ("regression", "classification")  # trained in turn; validation picks one
    width: int = 24
    lr: float = 1e-3
    batch_size: int = 16
    steps: int = 1000  # per head
    patch: int = 64
    eval_every: int = 250
    work_size: int = 256  # long side at which ab is predicted; ab is upsampled, L kept at full size
    train_sides: tuple[int, ...] = (256, 384)  # training photos at these long sides: crops show what inference sees
    grid: float = 10.0  # ab bin size for the classification head
    rebalance: float = 1.0  # Zhang's lambda: 1 weighs every bin alike (plain cross-entropy), 0.5 is Zhang's
    temperatures: tuple[float, ...] = (1.0, 0.7, 0.5, 0.38)  # annealed-mean temperatures the decode is chosen from
    chromas: tuple[float, ...] = (1.0, 0.85, 0.7, 0.55)  # ab scale factors the decode is chosen from
    photos: str = "varied"  # or "bundled"
    data: Path | None = None  # a folder of the user's own colour photos instead of a photo set
    runs_dir: Path = Path("runs")
    progress: bool = True


def lab_batch(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, h, w) RGB -> (L / 100 as (N, 1, h, w), ab / 100 as (N, 2, h, w))."""
    lab = rgb_to_lab(rgb.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) / 100.0
    return np.ascontiguousarray(lab[:, :1]), np.ascontiguousarray(lab[:, 1:])


def ab_bins(train_photos: list[np.ndarray], grid: float, rebalance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bins of the ab plane that our training photos use: (centres (Q, 2) in ab units, class weights (Q,),
    lookup from every grid cell to its nearest used bin)."""
    cells = int(2 * AB_RANGE / grid)
    counts = np.zeros((cells, cells))
    for photo in train_photos:
        ab = rgb_to_lab(photo)[..., 1:].reshape(-1, 2)
        index = np.clip(((ab + AB_RANGE) / grid).astype(int), 0, cells - 1)
        np.add.at(counts, (index[:, 0], index[:, 1]), 1)
    used = np.argwhere(counts > 0)
    centres = (used + 0.5) * grid - AB_RANGE
    prior = counts[used[:, 0], used[:, 1]] / counts.sum()
    weights = 1.0 / ((1 - rebalance) * prior + rebalance / len(prior))
    weights /= (prior * weights).sum()  # expected weight 1 under the data
    all_cells = (np.argwhere(np.ones((cells, cells))) + 0.5) * grid - AB_RANGE
    nearest = np.argmin(((all_cells[:, None] - centres[None]) ** 2).sum(-1), axis=1).reshape(cells, cells)
    return centres.astype(np.float32), weights.astype(np.float32), nearest


def bin_targets(ab: np.ndarray, grid: float, nearest: np.ndarray) -> np.ndarray:
    index = np.clip(((ab * 100.0 + AB_RANGE) / grid).astype(int), 0, nearest.shape[0] - 1)
    return nearest[index[:, 0], index[:, 1]]


def torch_run(model):
    torch = require("torch", "train")

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    return run


def score(run, named_photos: dict, work_size: int, kinds: dict[str, str] | None = None) -> dict:
    """PSNR of colorized vs true RGB, of the gray baseline (ab = 0), and colourfulness against the truth: means,
    the worst kind's gain (the worst photo's where photos have no kind), and the figures per photo and kind."""
    figures = {"psnr_db": [], "gray_psnr_db": [], "colorfulness": [], "true_colorfulness": []}
    per_photo = {}
    for name, photo in named_photos.items():
        colored = colorize_array(run, photo, work_size)
        gray = colorize_array(lambda x: np.zeros((1, 2, *x.shape[2:]), np.float32), photo, work_size)
        figures["psnr_db"].append(psnr(photo, colored))
        figures["gray_psnr_db"].append(psnr(photo, gray))
        figures["colorfulness"].append(colorfulness(colored))
        figures["true_colorfulness"].append(colorfulness(photo))
        per_photo[name] = held_out.colorizer_photo(colored, photo, gray)
    mean = {k: float(np.mean(v)) for k, v in figures.items()}
    mean["gain_over_gray_db"] = mean["psnr_db"] - mean["gray_psnr_db"]
    mean["colorfulness_ratio"] = mean["colorfulness"] / mean["true_colorfulness"]
    kind_means = held_out.by_kind(per_photo, kinds or {})
    mean["worst_kind_gain_db"] = min(f["gain_over_gray_db"] for f in (kind_means or per_photo).values())
    return {**mean, "by_kind": kind_means, "per_photo": per_photo}


def choose_decode(model, head: str, config: "ColorizerTrainConfig", val_photos: dict, kinds: dict) -> dict:
    """Set the decode (temperature, chroma) that validation prefers: one meeting the bars first, then the
    largest mean gain; returns its validation figures with the decode recorded."""
    temperatures = config.temperatures if head == "classification" else (model.temperature,)
    trials = []
    for temperature in temperatures:
        for chroma in config.chromas:
            model.temperature, model.chroma = temperature, chroma
            figures = score(torch_run(model), val_photos, config.work_size, kinds)
            trials.append({**figures, "temperature": temperature, "chroma": chroma})
    best = max(trials, key=preference)
    model.temperature, model.chroma = best["temperature"], best["chroma"]
    table = [{k: t[k] for k in ("temperature", "chroma", "gain_over_gray_db", "worst_kind_gain_db",
                                "colorfulness_ratio")} for t in trials]
    return {**best, "decode_trials": table}


def train_head(head: str, config: ColorizerTrainConfig, bins, train_photos: list, val_photos, kinds) -> tuple:
    torch = require("torch", "train")
    from visionrt.model_zoo.colorizer import Colorizer

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    centres, weights, nearest = bins
    model = Colorizer(config.width, head, len(centres), config.temperatures[0])
    model.centres.copy_(torch.from_numpy(centres.T.copy() / 100.0)[:, :, None, None])
    class_weights = torch.from_numpy(weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps)

    def step_loss(step):
        lightness, ab = lab_batch(photos.random_patches(train_photos, config.batch_size, config.patch, rng))
        if head == "regression":
            return torch.nn.functional.mse_loss(model(torch.from_numpy(lightness)), torch.from_numpy(ab))
        targets = torch.from_numpy(bin_targets(ab, config.grid, nearest)).long()
        return torch.nn.functional.cross_entropy(model.logits(torch.from_numpy(lightness)), targets, weight=class_weights)

    def validate():
        val = score(torch_run(model), val_photos, config.work_size)
        return val["gain_over_gray_db"], {k: v for k, v in val.items() if k not in ("per_photo", "by_kind")}

    result = steps.train_steps(model, optimizer, schedule, config.steps, config.eval_every, step_loss, validate,
                               desc=f"colorizer {head}", progress=config.progress, shown="gain_db")
    return model, result.history, choose_decode(model, head, config, val_photos, kinds)


def bars(figures: dict) -> tuple[bool, bool, bool]:
    """The bars in the order they rank: no harm on any kind, +0.5 dB on average, half the truth's colourfulness."""
    return (figures["worst_kind_gain_db"] >= 0.0, figures["gain_over_gray_db"] >= 0.5,
            figures["colorfulness_ratio"] >= 0.5)


def passes(figures: dict) -> bool:
    return all(bars(figures))


def preference(figures: dict) -> tuple:
    """Validation's ranking of decodes and heads: the bars met, in their order, then the mean gain."""
    return (*bars(figures), figures["gain_over_gray_db"])


def train_colorizer(config: ColorizerTrainConfig) -> Path:
    started = time.perf_counter()
    folder = photos.training_folder(config.photos, config.data)
    kinds = photos.kinds(folder)
    originals = list(photos.load_split("train", folder).values())
    bins = ab_bins(originals, config.grid, config.rebalance)
    train_photos = [held_out.at_side(p, side) for p in originals for side in config.train_sides]
    val_photos, test_photos = held_out.eval_split("val", folder), held_out.eval_split("test", folder)
    run_dir = runs.new_run_dir(config.runs_dir, "colorizer", config.seed)
    trained = {head: train_head(head, config, bins, train_photos, val_photos, kinds) for head in config.heads}
    # validation decides: a head that meets the bars on the validation photos first, then the PSNR gain
    chosen = max(trained, key=lambda h: preference(trained[h][2]))
    tests = {head: score(torch_run(model), test_photos, config.work_size, kinds)
             for head, (model, _, _) in trained.items()}
    model, history, _ = trained[chosen]
    brief = {h: {k: v for k, v in t.items() if k not in ("per_photo", "decode_trials")} for h, t in tests.items()}
    print(json.dumps({"chosen": chosen, "test": brief}, indent=1))
    metrics = {**tests[chosen], "head": chosen, "meets_bars": passes(tests[chosen]), "test_photos": list(test_photos),
               "decode": {"temperature": model.temperature, "chroma": model.chroma},
               "heads_compared": {h: {"validation": {k: v for k, v in trained[h][2].items() if k != "per_photo"},
                                      "test": brief[h]} for h in trained}}
    atomic.write_text(run_dir / "training.json", json.dumps({"test": metrics, "history": history}, indent=1))
    evaluate.save_loss_curve_png(history, run_dir / "loss_curve.png", f"colorizer ({chosen} head; x: step)",
                                 loss_label="train loss", metric_label="validation gain over gray (dB)", metric_range=None)
    rows = [[np.repeat(rgb_to_lab(photo)[..., :1] / 100.0, 3, axis=-1),
             colorize_array(torch_run(model), photo, config.work_size), photo]
            for photo in (test_photos[n] for n in held_out.one_per_kind(test_photos, kinds)[:3])]
    save_before_after_rows(rows, run_dir / "before_after.png",
                           ["input (lightness only)", f"colorized ({chosen})", "original"])
    checkpoint.save(run_dir / "best.pt", {
        "model": "colorizer", "state_dict": model.state_dict(), "labels": None,
        "arch_kwargs": {"width": config.width, "head": chosen, "bins": len(bins[0]), "temperature": model.temperature,
                        "chroma": model.chroma},
        "preprocessing": {"color": "L", "lab": "D65", "input": "L/100", "output": "ab/100", "multiple": 4,
                          "work_size": config.work_size, "size": [None, None], "mean": [0.0], "std": [1.0]},
        "metrics": metrics,
        "data": {**photos.split_record(folder), "seed": config.seed, "ab_bins": len(bins[0])},
        "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                         "train_seconds": round(time.perf_counter() - started, 1)},
    })
    return run_dir


# The export's inputs come from the bundled photos, which need no fetch: they keep the same split in the
# varied set (photo_sources), so they are test (or training) photos for either.
def validation_inputs(payload: dict) -> dict[str, np.ndarray]:
    """Lightness of test-photo crops, and of one whole test photo at the working resolution."""
    seed = payload["data"]["seed"]
    test = photos.load_split("test")
    crops, _ = lab_batch(photos.random_patches(list(test.values()), 64, 64, np.random.default_rng(seed + 3000)))
    photo = next(iter(test.values()))
    whole, _ = lab_batch(photo[: photo.shape[0] // 4 * 4, : photo.shape[1] // 4 * 4].transpose(2, 0, 1)[None].copy())
    return {"real": crops, "whole_photo": whole}


def calibration_inputs(payload: dict) -> np.ndarray:
    """Lightness of training-photo crops, for INT8 calibration (never test)."""
    train = photos.load_split("train")
    return lab_batch(photos.random_patches(list(train.values()), 256, 64,
                                           np.random.default_rng(payload["data"]["seed"] + 4001)))[0]


def write_samples(payload: dict, folder: Path) -> list[Path]:
    """The test photos in grayscale, for the demo to colorize."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, photo in photos.load_split("test").items():
        gray = np.round(rgb_to_lab(photo)[..., 0] * 2.55).astype(np.uint8)
        with atomic.atomic_path(folder / f"gray_{name}.png") as tmp:
            Image.fromarray(gray, mode="L").save(tmp, format="PNG")
        written.append(folder / f"gray_{name}.png")
    return written
