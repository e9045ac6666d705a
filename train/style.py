"""Train the zoo's fast style network on crops of the varied photo set (``visionrt photos``; ``--photos
bundled`` for the 8 bundled ones) towards one style image, once per content weight; validation picks the
weight and the step.

The loss network is a fixed, seeded, random conv net (train/style_loss.py): no pretrained VGG can be
downloaded here. Before the feed-forward network, slow per-image optimisation with the same loss is run on
the test photos as the check the approach works at all, and as the reference the network is compared with.
Both are judged in a *different* random network that training never saw: the share of the Gram-distance gap
between the content photo and the style floor that stylisation closes, and luminance SSIM against the content.
Bars: gap closed >= 0.5 and SSIM >= 0.5 on every held-out photo, judged at a long side of 512 px. Validation
judges the same way on the validation photos and ranks a state by its worse margin on its worst photo, so the
weight chosen is the one that keeps the content and restyles it on every kind of photo; the trade-off over
weights and steps is plotted (tradeoff.png).
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic, figures, model_zoo
from visionrt.errors import UserInputError
from visionrt.extras import require
from visionrt.hashing import sha256_file
from visionrt.runtime.tasks.image_to_image import pad_to_multiple
from visionrt.train import checkpoint, evaluate, held_out, photos, runs, steps, style_image
from visionrt.train.config import FromSpec
from visionrt.train.denoiser import denoise_photo as stylize_photo  # the same pad-run-crop
from visionrt.train.denoiser import save_before_after_rows

DEFAULT_STYLE = Path(model_zoo.__file__).resolve().parent / "styles" / "swirls.png"
BARS = {"gap_closed": 0.5, "luminance_ssim": 0.5}


@dataclass
class StyleTrainConfig(FromSpec):
    MODEL: ClassVar[str] = "style"

    seed: int = 0
    width: int = 16
    blocks: int = 5
    lr: float = 1e-3
    batch_size: int = 4
    steps: int = 1500  # per content weight
    patch: int = 128
    train_side: int = held_out.EVAL_SIDE  # training photos are scaled to this long side: crops at the judged scale
    style_weight: float = 1.0
    content_weights: tuple[float, ...] = (0.6, 1.2, 2.4)  # trained in turn; validation picks one
    eval_every: int = 250
    optimization_steps: int = 300  # per-image optimisation of test photos: the check and the reference
    optimization_side: int = 256  # ... at this long side, on one test photo of each kind
    style: Path | None = None  # None: the shipped procedural painting (model_zoo/styles/swirls.png)
    photos: str = "varied"  # or "bundled"
    data: Path | None = None  # a folder of the user's own photos instead of a photo set
    runs_dir: Path = Path("runs")
    progress: bool = True


def load_style(path: Path | None) -> tuple[np.ndarray, dict]:
    """The style image as float RGB in [0, 1] and what the checkpoint records about where it came from."""
    path = Path(path) if path is not None else DEFAULT_STYLE
    if not path.is_file():
        raise UserInputError(f"style image not found: {path}")
    pixels = photos.load_file(path)
    record = {"file": path.name, "sha256": sha256_file(path), "size": list(pixels.shape[1::-1])}
    if path == DEFAULT_STYLE:
        record.update(style_image.provenance())
    else:
        record["source"] = f"user file {path.resolve()}"
    return pixels, record


class Objective:
    """Style + content loss in the training feature space, with the style targets computed once."""

    def __init__(self, style: np.ndarray, style_weight: float, content_weight: float):
        from visionrt.train import style_loss

        self.lib = style_loss
        self.net = style_loss.RandomFeatures(style_loss.TRAINING_FEATURES)
        self.targets = style_loss.style_targets(self.net, style_loss.to_tensor(style))
        self.style_weight, self.content_weight = style_weight, content_weight

    def __call__(self, images, contents) -> tuple:
        torch = require("torch", "train")
        with torch.no_grad():
            content_features = self.net(contents)
        features = self.net(images)
        style = self.lib.style_loss(features, self.targets)
        content = self.lib.content_loss(features, content_features, self.net.spec.content_layer)
        return self.style_weight * style + self.content_weight * content, style, content


def optimize_image(objective: Objective, content: np.ndarray, steps: int, lr: float = 0.05) -> np.ndarray:
    """Gatys-style per-image optimisation of the pixels (through a sigmoid, so they stay in [0, 1])."""
    torch = require("torch", "train")
    target = objective.lib.to_tensor(content)
    logits = torch.logit(target.clamp(0.02, 0.98)).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        loss, _, _ = objective(torch.sigmoid(logits), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.sigmoid(logits).detach()[0].numpy().transpose(1, 2, 0)


def textured_patches(train_photos: list[np.ndarray], count: int, size: int, rng: np.random.Generator,
                     min_std: float = 0.03) -> np.ndarray:
    """Random crops, redrawing nearly flat ones (std below ``min_std``: sky, the Hubble field's black). A flat
    crop makes every feature map constant, instance norm then divides by a zero variance at each of its 13
    layers, and the gradient norm overflowed float32 (the first zoo run went NaN before step 500)."""
    patches = photos.random_patches(train_photos, count, size, rng)
    for _ in range(50):
        flat = patches.std(axis=(1, 2, 3)) < min_std
        if not flat.any():
            break
        patches[flat] = photos.random_patches(train_photos, int(flat.sum()), size, rng)
    return patches


def judged(pairs: dict[str, tuple[np.ndarray, np.ndarray]], style: np.ndarray) -> dict:
    """Judge-space figures per photo and their means; ``pairs`` maps name -> (content, stylized)."""
    from visionrt.train import style_loss

    judge_net = style_loss.RandomFeatures(style_loss.JUDGE_FEATURES)
    per_photo = {name: style_loss.judge(content, out, style, judge_net) for name, (content, out) in pairs.items()}
    means = {key: float(np.mean([p[key] for p in per_photo.values()])) for key in next(iter(per_photo.values()))}
    return {**means, "per_photo": per_photo}


def validation_judged(model, named: dict, style: np.ndarray) -> tuple[float, dict]:
    """(key, figures) on the validation photos: the key is the worse of the two bar margins on the worst photo."""
    figures = judged({name: (photo, stylize_photo(model, photo)) for name, photo in named.items()}, style)
    worst = {key: min(p[key] for p in figures["per_photo"].values()) for key in BARS}
    record = {**{key: figures[key] for key in BARS}, **{f"worst_{key}": worst[key] for key in BARS}}
    return min(worst[key] - bar for key, bar in BARS.items()), record


def train_weight(config: StyleTrainConfig, content_weight: float, style: np.ndarray, train_photos: list,
                 val_photos: dict):
    """One network at one content weight; returns it holding its best validated state, and the steps result."""
    torch = require("torch", "train")
    from visionrt.model_zoo.style import StyleTransformer

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    objective = Objective(style, config.style_weight, content_weight)
    model = StyleTransformer(config.width, config.blocks)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps)

    def step_loss(step):
        contents = torch.from_numpy(textured_patches(train_photos, config.batch_size, config.patch, rng))
        loss, _, _ = objective(model(contents), contents)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"style loss became {loss.item()} at step {step}; lower --lr")
        return loss

    result = steps.train_steps(model, optimizer, schedule, config.steps, config.eval_every, step_loss,
                               lambda: validation_judged(model, val_photos, style), desc=f"style c={content_weight}",
                               progress=config.progress, clip=10.0, shown="margin")
    return model, result


def check_photos(test_photos: dict, kinds: dict, side: int) -> dict:
    """One test photo of each kind, subsampled to a long side of about ``side``."""
    chosen = {}
    for name in held_out.one_per_kind(test_photos, kinds):
        photo = test_photos[name]
        step = max(1, round(max(photo.shape[:2]) / side))
        chosen[name] = np.ascontiguousarray(photo[::step, ::step])
    return chosen


def save_tradeoff_png(runs: dict, chosen: tuple[float, int], path: Path) -> Path:
    """Validation gap closed against luminance SSIM, one line per content weight over its evaluation steps."""
    plt = figures.pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 4.6), dpi=110)
    for weight, result in runs.items():
        points = [(h["val"]["luminance_ssim"], h["val"]["gap_closed"], h["epoch"]) for h in result.history]
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=f"content weight {weight}")
        if weight == chosen[0]:
            best = next(p for p in points if p[2] == chosen[1])
            axes.plot(best[0], best[1], marker="*", ms=16, color="black", ls="none",
                      label=f"chosen: weight {weight}, step {chosen[1]}")
    axes.axhline(BARS["gap_closed"], color="gray", ls="--", lw=0.8)
    axes.axvline(BARS["luminance_ssim"], color="gray", ls="--", lw=0.8)
    axes.set_xlabel("luminance SSIM against the content (validation mean)")
    axes.set_ylabel("Gram-distance gap closed (validation mean)")
    axes.set_title("style: keeping the content against restyling it\n(judge network; dashed: the bars)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def train_style(config: StyleTrainConfig) -> Path:
    tqdm = require("tqdm", "train").tqdm

    style, style_record = load_style(config.style)
    folder = photos.training_folder(config.photos, config.data)
    kinds = photos.kinds(folder)
    train_photos = [held_out.at_side(p, config.train_side) for p in photos.load_split("train", folder).values()]
    val_photos, test_photos = held_out.eval_split("val", folder), held_out.eval_split("test", folder)
    run_dir = runs.new_run_dir(config.runs_dir, "style", config.seed)

    started = time.perf_counter()
    check = check_photos(test_photos, kinds, config.optimization_side)
    objective = Objective(style, config.style_weight, config.content_weights[0])
    optimized = {name: optimize_image(objective, photo, config.optimization_steps)
                 for name, photo in tqdm(check.items(), desc="per-image optimisation check", unit="photo",
                                         disable=not config.progress)}
    reference = judged({n: (check[n], optimized[n]) for n in check}, style)
    print("per-image optimisation (the check):", json.dumps({k: v for k, v in reference.items() if k != "per_photo"}))

    train_started = time.perf_counter()
    trained = {weight: train_weight(config, weight, style, train_photos, val_photos)
               for weight in config.content_weights}
    train_seconds = time.perf_counter() - train_started
    chosen = max(trained, key=lambda w: trained[w][1].best_key)
    model, result = trained[chosen]
    save_tradeoff_png({w: r for w, (_, r) in trained.items()}, (chosen, result.best_step), run_dir / "tradeoff.png")
    stylized = {name: stylize_photo(model, photo) for name, photo in test_photos.items()}
    network = judged({n: (test_photos[n], stylized[n]) for n in test_photos}, style)
    worst = {key: min(p[key] for p in network["per_photo"].values()) for key in BARS}
    metrics = {**{k: v for k, v in network.items() if k != "per_photo"}, "test_photos": list(test_photos),
               **{f"worst_{key}": value for key, value in worst.items()},
               "meets_bars": all(worst[k] >= bar_value for k, bar_value in BARS.items()),
               "meets_bars_on_average": all(network[k] >= bar_value for k, bar_value in BARS.items()),
               "by_kind": held_out.by_kind(network["per_photo"], kinds), "per_photo": network["per_photo"],
               "content_weight": chosen,
               "weights_compared": {w: {"best_step": r.best_step, "validation": r.best_record}
                                    for w, (_, r) in trained.items()},
               "per_image_optimization": reference}
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("per_photo", "per_image_optimization")}, indent=1))
    history = result.history
    atomic.write_text(run_dir / "training.json", json.dumps({"test": metrics, "history": history}, indent=1))
    evaluate.save_loss_curve_png(history, run_dir / "loss_curve.png",
                                 f"style training, content weight {chosen} (x: step)",
                                 loss_label="train style + content loss",
                                 metric_label="validation: worse bar margin, worst photo", metric_range=None)
    rows = [[test_photos[name], stylized[name], optimized[name], style] for name in list(check)[:3]]
    save_before_after_rows(rows, run_dir / "before_after.png",
                           ["content (held out)", "feed-forward network", "per-image optimisation", "style image"])
    checkpoint.save(run_dir / "best.pt", {
        "model": "style", "arch_kwargs": {"width": config.width, "blocks": config.blocks},
        "state_dict": model.state_dict(), "labels": None, "preprocessing": preprocessing_record(), "metrics": metrics,
        "data": {**photos.split_record(folder), "seed": config.seed, "patch": config.patch, "style": style_record,
                 "loss_network": asdict(objective.lib.TRAINING_FEATURES),
                 "judge_network": asdict(objective.lib.JUDGE_FEATURES)},
        "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                         "optimizer": "adam", "best_step": result.best_step, "train_seconds": round(train_seconds, 1),
                         "total_seconds": round(time.perf_counter() - started, 1)},
    })
    return run_dir


def preprocessing_record() -> dict:
    return {"color": "RGB", "scale": 1.0 / 255.0, "size": [None, None], "multiple": 4, "pad": "reflect",
            "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "output": "rgb01"}


def validation_inputs(payload: dict) -> dict[str, np.ndarray]:
    """Crops of the test photos, and one whole test photo padded to a multiple of 4."""
    test = photos.load_split("test")
    crops = photos.random_patches(list(test.values()), 64, 64, np.random.default_rng(payload["data"]["seed"] + 3000))
    whole = pad_to_multiple(next(iter(test.values())), 4)
    return {"real": crops, "whole_photo": np.ascontiguousarray(whole.transpose(2, 0, 1)[None])}


def calibration_inputs(payload: dict) -> np.ndarray:
    """Crops of the training photos, for INT8 calibration (never test)."""
    train = photos.load_split("train")
    return photos.random_patches(list(train.values()), 256, 64, np.random.default_rng(payload["data"]["seed"] + 4001))


def write_samples(payload: dict, folder: Path) -> list[Path]:
    """The held-out photos as PNGs, for the demo to stylize."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, photo in photos.load_split("test").items():
        with atomic.atomic_path(folder / f"{name}.png") as tmp:
            Image.fromarray(np.round(photo * 255).astype(np.uint8)).save(tmp, format="PNG")
        written.append(folder / f"{name}.png")
    return written
