"""Train the zoo's face swap: shared encoder, one decoder per identity, random-warp augmentation.

Default data is the procedural renderer (train/faces.py), with unpaired parameter draws for A and B as a
real face-swap data set would be. Evaluation uses parameter draws never seen in training and compares
swap(A -> B) with the exact ground truth, B rendered with A's parameters. Optionally (``align``) the two
identities' bottleneck codes are pulled towards one distribution (an MMD penalty), so that B's decoder has
seen codes like A's: faceswap relies on the warp alone for that. ``data`` points to a folder with
``a/`` and ``b/`` sub-folders of aligned face crops to train on real faces instead (no swap ground truth
exists there, so only reconstruction is measured).
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic
from visionrt.errors import UserInputError
from visionrt.extras import require
from visionrt.train import checkpoint, evaluate, faces, runs, steps
from visionrt.train.config import FromSpec
from visionrt.train.denoiser import psnr, save_before_after


@dataclass
class FaceSwapTrainConfig(FromSpec):
    MODEL: ClassVar[str] = "faceswap_to_b"

    seed: int = 0
    width: int = 16
    bottleneck: int = 128
    lr: float = 5e-4
    batch_size: int = 16  # per identity and step
    steps: int = 3000
    faces_per_identity: int = 6000  # rendered once; warps and flips make each step's inputs new
    eval_every: int = 500
    warp: float = 0.05  # random grid-warp strength, in units of the image half-width
    background_weight: float = 0.1  # weight of colour errors outside the face mask (the blend takes those pixels from the input)
    align: float = 0.0  # weight of the MMD between A's and B's bottleneck codes (0: faceswap's plain loss)
    data: Path | None = None  # folder with a/ and b/ face crops; None: the procedural renderer
    runs_dir: Path = Path("runs")
    progress: bool = True


def load_folder(folder: Path) -> np.ndarray:
    from PIL import Image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp"))
    if len(files) < 8:
        raise UserInputError(f"{folder} holds {len(files)} images; face-swap training needs at least 8 per identity")
    return np.stack([np.asarray(Image.open(f).convert("RGB").resize((64, 64), Image.Resampling.BILINEAR),
                                np.float32).transpose(2, 0, 1) / 255.0 for f in files])


def training_faces(config: FaceSwapTrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Faces of A and B with their masks, (N, 3, 64, 64) and (N, 1, 64, 64). Folders of crops carry no masks:
    the mask target is then the whole crop, and the swap replaces the whole crop."""
    if config.data is not None:
        a, b = load_folder(Path(config.data) / "a"), load_folder(Path(config.data) / "b")
        return a, b, np.ones_like(a[:, :1]), np.ones_like(b[:, :1])
    first = faces.render_set(config.faces_per_identity, config.seed)
    second = faces.render_set(config.faces_per_identity, config.seed + 1)  # unpaired with A's draws
    return first.a, second.b, first.mask_a, second.mask_b


def hold_out(crops: np.ndarray, masks: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training crops, their masks, and a tenth of the crops (at least one, fixed shuffle) never trained on.

    Real crops have no swap ground truth, so with ``data`` the step is chosen, and the result reported, by how
    well each decoder redraws unseen faces of its own identity."""
    order = np.random.default_rng(seed).permutation(len(crops))
    held = max(1, len(crops) // 10)
    return crops[order[held:]], masks[order[held:]], crops[order[:held]]


def random_warp(batch, strength: float, generator):
    """faceswap's augmentation: a smooth random grid warp of the input (the target stays unwarped)."""
    torch = require("torch", "train")
    functional = torch.nn.functional
    n = batch.shape[0]
    coarse = strength * (2 * torch.rand(n, 2, 5, 5, generator=generator) - 1)
    flow = functional.interpolate(coarse, size=batch.shape[-2:], mode="bicubic", align_corners=True)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, batch.shape[-2]), torch.linspace(-1, 1, batch.shape[-1]), indexing="ij")
    grid = torch.stack([xs, ys], -1)[None] + flow.permute(0, 2, 3, 1)
    warped = functional.grid_sample(batch, grid, padding_mode="border", align_corners=True)
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], warped.flip(-1), warped), flip


def drawing_loss(drawn, target, background_weight: float):
    """Colour MSE, weighted down outside the true mask (faceswap's penalised mask loss), plus mask MSE."""
    mask = target[:, 3:]
    weight = mask + background_weight * (1 - mask)
    return (weight * (drawn[:, :3] - target[:, :3]) ** 2).mean() + ((drawn[:, 3:] - mask) ** 2).mean()


def mmd(x, y):
    """Squared maximum mean discrepancy between two batches of codes, RBF kernels at 0.5, 1 and 2 times the
    median pairwise distance (measured, not learned: shrinking every code cannot make the two batches agree)."""
    torch = require("torch", "train")
    joined = torch.cat([x, y])
    distances = torch.cdist(joined, joined) ** 2
    scale = distances.detach().median().clamp_min(1e-6)
    kernel = sum(torch.exp(-distances / (factor * scale)) for factor in (0.5, 1.0, 2.0))
    n = len(x)
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


def masked_psnr(target: np.ndarray, output: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over the pixels where ``mask`` (1, H, W) is on, weighted by it."""
    error = float((mask * (target - output) ** 2).sum() / (3 * mask.sum()))
    return float(10 * np.log10(1.0 / max(error, 1e-10)))


def swap_metrics(model, count: int, seed: int) -> dict:
    """On parameter draws never seen: swap PSNR against the true render, against copying the input, and
    whether the output is closer to the target identity's render than to the source photo. Because the swap
    keeps the input outside the drawn face, the figures are also given over the faces alone (both
    identities' masks joined), where copying has nothing to gain from the shared background."""
    torch = require("torch", "train")
    rendered = faces.render_set(count, seed)
    faces_mask = np.maximum(rendered.mask_a, rendered.mask_b)
    found = {}
    with torch.no_grad():
        for source, target, to, name in ((rendered.a, rendered.b, "b", "a_to_b"), (rendered.b, rendered.a, "a", "b_to_a")):
            out = model(torch.from_numpy(source), to).numpy()
            swap = [psnr(t, o) for t, o in zip(target, out)]
            copy_ = [psnr(t, s) for t, s in zip(target, source)]
            to_source = [psnr(s, o) for s, o in zip(source, out)]
            face_swap = [masked_psnr(t, o, m) for t, o, m in zip(target, out, faces_mask)]
            face_copy = [masked_psnr(t, s, m) for t, s, m in zip(target, source, faces_mask)]
            found[name] = {"swap_psnr_db": float(np.mean(swap)), "copy_psnr_db": float(np.mean(copy_)),
                           "gain_over_copy_db": float(np.mean(swap) - np.mean(copy_)),
                           "face_swap_psnr_db": float(np.mean(face_swap)), "face_copy_psnr_db": float(np.mean(face_copy)),
                           "output_psnr_to_source_db": float(np.mean(to_source)),
                           "closer_to_target_share": float(np.mean(np.array(swap) > np.array(to_source)))}
    found["reconstruction_a_psnr_db"] = redraw_psnr(model, rendered.a, "a")
    return found


def redraw_psnr(model, crops: np.ndarray, to: str) -> float:
    """Mean PSNR of faces of one identity redrawn (and blended) by that identity's own decoder."""
    torch = require("torch", "train")
    with torch.no_grad():
        redrawn = model(torch.from_numpy(crops), to).numpy()
    return float(np.mean([psnr(x, y) for x, y in zip(crops, redrawn)]))


def reconstruction_metrics(model, held_a: np.ndarray, held_b: np.ndarray) -> dict:
    """Each identity redrawn by its own decoder, on crops training never saw (real-face folders)."""
    return {"held_out_crops": [len(held_a), len(held_b)], "reconstruction_a_psnr_db": redraw_psnr(model, held_a, "a"),
            "reconstruction_b_psnr_db": redraw_psnr(model, held_b, "b")}


def validation_score(model, config: FaceSwapTrainConfig, held) -> float:
    """Renderer: mean swap PSNR of both directions on validation draws; folders: mean held-out redraw PSNR."""
    if held is None:
        score = swap_metrics(model, 64, config.seed + 500)
        return (score["a_to_b"]["swap_psnr_db"] + score["b_to_a"]["swap_psnr_db"]) / 2
    score = reconstruction_metrics(model, *held)
    return (score["reconstruction_a_psnr_db"] + score["reconstruction_b_psnr_db"]) / 2


def train_faceswap(config: FaceSwapTrainConfig) -> Path:
    torch = require("torch", "train")
    from visionrt.model_zoo.faceswap import FaceSwap

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    faces_a, faces_b, masks_a, masks_b = training_faces(config)
    held = None
    if config.data is not None:
        faces_a, masks_a, held_a = hold_out(faces_a, masks_a, config.seed)
        faces_b, masks_b, held_b = hold_out(faces_b, masks_b, config.seed)
        held = (held_a, held_b)
    faces_a, faces_b, masks_a, masks_b = (torch.from_numpy(x) for x in (faces_a, faces_b, masks_a, masks_b))
    model = FaceSwap(config.width, config.bottleneck)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps)
    run_dir = runs.new_run_dir(config.runs_dir, "faceswap", config.seed)
    started = time.perf_counter()

    def step_loss(step):
        loss, codes = 0.0, []
        for pool, masks, decoder in ((faces_a, masks_a, model.decoder_a), (faces_b, masks_b, model.decoder_b)):
            chosen = torch.randint(len(pool), (config.batch_size,), generator=generator)
            warped, flip = random_warp(pool[chosen], config.warp, generator)
            target = torch.cat([pool[chosen], masks[chosen]], 1)
            target = torch.where(flip[:, None, None, None], target.flip(-1), target)
            codes.append(model.encoder.code(warped))
            loss = loss + drawing_loss(decoder(model.encoder.expand(codes[-1])), target, config.background_weight)
        return loss + config.align * mmd(*codes) if config.align else loss

    result = steps.train_steps(model, optimizer, schedule, config.steps, config.eval_every, step_loss,
                               lambda: (validation_score(model, config, held), None), desc="faceswap",
                               progress=config.progress, shown="val_psnr")
    history = result.history
    metrics = swap_metrics(model, 200, config.seed + 999) if held is None else reconstruction_metrics(model, *held)
    print(json.dumps(metrics, indent=1))
    atomic.write_text(run_dir / "training.json", json.dumps({"test": metrics, "history": history}, indent=1))
    evaluate.save_loss_curve_png(history, run_dir / "loss_curve.png", "faceswap training (x: step)",
                                 loss_label=f"train loss (a + b: colour MSE, background x{config.background_weight:g}, + mask MSE)",
                                 metric_label="validation swap PSNR (dB)" if held is None else "held-out redraw PSNR (dB)",
                                 metric_range=None)
    save_examples(model, config.seed + 999, run_dir / "before_after.png", None if held is None else held[0])
    seconds = round(time.perf_counter() - started, 1)
    for to in ("a", "b"):
        state = {f"encoder.{k}": v for k, v in model.encoder.state_dict().items()}
        state.update({f"decoder.{k}": v for k, v in getattr(model, f"decoder_{to}").state_dict().items()})
        checkpoint.save(run_dir / f"faceswap_to_{to}.pt", {
            "model": f"faceswap_to_{to}", "state_dict": state, "labels": None,
            "arch_kwargs": {"width": config.width, "bottleneck": config.bottleneck},
            "preprocessing": {"color": "RGB", "size": [64, 64], "resample": "bilinear", "scale": 1.0 / 255.0,
                              "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "output": "rgb01"},
            "metrics": metrics,
            "data": {"source": str(config.data) if config.data else "procedural face renderer (train/faces.py)",
                     "seed": config.seed, "faces_per_identity": config.faces_per_identity},
            "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                             "optimizer": "adam", "best_step": result.best_step, "train_seconds": seconds},
        })
    return run_dir


def save_examples(model, seed: int, path: Path, held_a: np.ndarray | None = None) -> Path:
    """Unseen renders swapped to B beside their ground truth; with real crops, held-out A crops and their swaps."""
    torch = require("torch", "train")
    if held_a is None:
        a, b, _ = faces.render_pairs(6, seed)
        shown, captions = [b], ["identity A (unseen parameters)", "swapped to B", "ground truth: B with A's parameters"]
    else:
        a, shown, captions = held_a[:6], [], ["identity A (held-out crops)", "swapped to B"]
    with torch.no_grad():
        swapped = model(torch.from_numpy(a), "b").numpy()
    rows = [np.concatenate(list(x.transpose(0, 2, 3, 1)), axis=1) for x in (a, swapped, *shown)]
    return save_before_after(rows, path, captions)


def validation_inputs(payload: dict) -> np.ndarray:
    """Faces of the source identity (A for the to-B graph and vice versa) with unseen parameters."""
    a, b, _ = faces.render_pairs(64, payload["data"]["seed"] + 999)
    return a if payload["model"] == "faceswap_to_b" else b


def calibration_inputs(payload: dict) -> np.ndarray:
    """Renders of the source identity drawn as training draws them, for INT8 calibration (never the test draws)."""
    a, b, _ = faces.render_pairs(256, payload["data"]["seed"] + 4001)
    return a if payload["model"] == "faceswap_to_b" else b


def write_samples(payload: dict, folder: Path) -> list[Path]:
    from PIL import Image

    a, b, _ = faces.render_pairs(3, payload["data"]["seed"] + 4242)
    source, tag = (a, "a") if payload["model"] == "faceswap_to_b" else (b, "b")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, face in enumerate(source):
        with atomic.atomic_path(folder / f"face_{tag}_{index}.png") as tmp:
            Image.fromarray(np.round(face.transpose(1, 2, 0) * 255).astype(np.uint8)).save(tmp, format="PNG")
        written.append(folder / f"face_{tag}_{index}.png")
    return written
