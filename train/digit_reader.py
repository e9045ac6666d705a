"""Train the zoo's CRNN digit-string reader with CTC loss on freshly rendered strings every epoch."""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic, figures
from visionrt.extras import require
from visionrt.model_zoo.digit_reader import BLANK
from visionrt.runtime.tasks.read_text import ctc_greedy_decode
from visionrt.train import checkpoint, data, evaluate, loop, runs, strings
from visionrt.train.config import FromSpec

ALPHABET = "0123456789"


@dataclass
class ReaderTrainConfig(FromSpec):
    MODEL: ClassVar[str] = "digit_reader"

    seed: int = 0  # seeds the digit split, the rendering, the initialization and the batch order
    optimizer: str = "adam"
    lr: float = 2e-3
    batch_size: int = 64
    width: int = 32  # channels of the first conv block
    hidden: int = 128  # LSTM units per direction
    epochs: int = 20
    patience: int = 6
    strings_per_epoch: int = 16000  # rendered anew each epoch from the train split's digits
    eval_strings: int = 1000  # validation and test strings each
    runs_dir: Path = Path("runs")
    progress: bool = True



def split_strings(dataset: data.DigitsData, part: str, count: int, seed: int):
    ink, labels = dataset.part(part)
    return strings.make_strings(ink, labels, count, seed)


def batches(widths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar widths (sorted within chunks of 20 batches), so padding stays small."""
    order = rng.permutation(len(widths))
    chunk = 20 * batch_size
    result = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: widths[i])
        result += [np.array(part[i : i + batch_size]) for i in range(0, len(part), batch_size)]
    return [result[i] for i in rng.permutation(len(result))]


def ctc_step(model, images, texts, mean, std, torch):
    x = (torch.from_numpy(strings.stack_padded(images)) - mean) / std
    log_probs = model(x).permute(1, 0, 2)  # (T, N, C) for CTCLoss
    targets = torch.tensor([int(c) for text in texts for c in text], dtype=torch.long)
    lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
    steps = torch.full((len(texts),), log_probs.shape[0], dtype=torch.long)
    return torch.nn.functional.ctc_loss(log_probs, targets, steps, lengths, blank=BLANK, zero_infinity=True)


def read(model, images: list[np.ndarray], mean: float, std: float, batch_size: int = 128) -> list[str]:
    torch = require("torch", "train")
    model.eval()
    texts = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = (torch.from_numpy(strings.stack_padded(images[start : start + batch_size])) - mean) / std
            texts += [r.text for r in ctc_greedy_decode(model(x).numpy(), ALPHABET, BLANK)]
    return texts


def train_digit_reader(config: ReaderTrainConfig) -> Path:
    torch = require("torch", "train")
    tqdm = require("tqdm", "train").tqdm
    from visionrt.model_zoo.digit_reader import DigitReader

    torch.manual_seed(config.seed)
    dataset = data.load_digits_data(seed=config.seed)
    val_images, val_texts = split_strings(dataset, "val", config.eval_strings, config.seed + 1)
    test_images, test_texts = split_strings(dataset, "test", config.eval_strings, config.seed + 2)
    first = split_strings(dataset, "train", config.strings_per_epoch, config.seed + 100)
    pixels = np.concatenate([image.ravel() for image in first[0][:2000]])
    mean, std = float(pixels.mean()), float(pixels.std())
    model = DigitReader(width=config.width, hidden=config.hidden)
    fit_config = loop.FitConfig(optimizer=config.optimizer, lr=config.lr, batch_size=config.batch_size,
                                epochs=config.epochs, seed=config.seed)
    optimizer = loop.make_optimizer(model, fit_config)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    rng = np.random.default_rng(config.seed)
    run_dir = runs.new_run_dir(config.runs_dir, "digit_reader", config.seed)
    history, best, started = [], loop.BestState(config.patience), time.perf_counter()
    for epoch in range(config.epochs):
        images, texts = first if epoch == 0 else split_strings(dataset, "train", config.strings_per_epoch,
                                                               config.seed + 100 + epoch)
        model.train()
        total, seen = 0.0, 0
        bar = tqdm(batches([i.shape[1] for i in images], config.batch_size, rng), desc=f"epoch {epoch}",
                   unit="batch", disable=not config.progress, leave=False, mininterval=0.5)
        for index in bar:
            loss = ctc_step(model, [images[i] for i in index], [texts[i] for i in index], mean, std, torch)
            total, seen = total + loop.optimizer_step(optimizer, loss, clip=5.0) * len(index), seen + len(index)
            bar.set_postfix(ctc=f"{total / seen:.4f}")
        schedule.step()
        val = evaluate.sequence_metrics(val_texts, read(model, val_images, mean, std))
        history.append({"epoch": epoch, "train_loss": total / seen, "val_sequence_accuracy": val["sequence_accuracy"],
                        "val_cer": val["character_error_rate"]})
        print(f"epoch {epoch}: ctc {total / seen:.4f}  val sequence accuracy {val['sequence_accuracy']:.4f}  "
              f"CER {val['character_error_rate']:.4f}", flush=True)
        if best.offer((val["sequence_accuracy"], -val["character_error_rate"]), epoch, model):
            break
    best.restore(model)
    seconds = time.perf_counter() - started
    test = evaluate.sequence_metrics(test_texts, read(model, test_images, mean, std))
    print(f"test: sequence accuracy {test['sequence_accuracy']:.4f}, CER {test['character_error_rate']:.4f}")
    write_reports(run_dir, history, test, test_images, test_texts, read(model, test_images[:12], mean, std))
    checkpoint.save(run_dir / "best.pt", {
        "model": "digit_reader",
        "arch_kwargs": {"width": config.width, "hidden": config.hidden},
        "state_dict": model.state_dict(),
        "labels": list(ALPHABET),
        "alphabet": ALPHABET,
        "blank": BLANK,
        "preprocessing": preprocessing_record(mean, std),
        "metrics": {k: v for k, v in test.items() if k != "sequence_accuracy_by_length"},
        "data": {"source": "sklearn.datasets.load_digits rendered into strings", "seed": config.seed,
                 "strings_per_epoch": config.strings_per_epoch, "eval_strings": config.eval_strings,
                 "render": asdict(strings.RenderConfig())},
        "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                         "best_epoch": best.step, "train_seconds": round(seconds, 1)},
    })
    return run_dir


def preprocessing_record(mean: float, std: float) -> dict:
    return {"color": "L", "invert": True, "size": [strings.HEIGHT, None], "width_multiple": strings.WIDTH_MULTIPLE,
            "min_width": 8, "resample": "bilinear", "scale": 1.0 / 255.0, "mean": [mean], "std": [std]}


def write_reports(run_dir: Path, history, test: dict, images, texts, readings) -> None:
    atomic.write_text(run_dir / "training.json", json.dumps({"test": test, "history": history}, indent=1))
    save_reading_picture(images[:12], texts[:12], readings, run_dir / "readings.png")
    evaluate.save_loss_curve_png(
        [{"epoch": h["epoch"], "train_loss": h["train_loss"], "val_loss": None,
          "val_acc": h["val_sequence_accuracy"]} for h in history],
        run_dir / "loss_curve.png", "digit_reader training", loss_label="CTC loss",
        metric_label="validation sequence accuracy")


def save_reading_picture(images, texts, readings, path: Path) -> Path:
    plt = figures.pyplot()

    figure, axes = plt.subplots(len(images), 1, figsize=(6, 0.75 * len(images)), dpi=110)
    for ax, image, truth, reading in zip(np.atleast_1d(axes), images, texts, readings):
        ax.imshow(1.0 - image, cmap="gray", vmin=0, vmax=1)
        color = "green" if reading == truth else "red"
        ax.set_title(f"read: {reading}   (truth: {truth})", fontsize=8, color=color, loc="left")
        ax.axis("off")
    figure.tight_layout()
    return figures.save_figure(figure, path)


def validation_inputs(payload: dict) -> dict[str, np.ndarray]:
    """Held-out strings for export's parity gate: test-split strings, and much wider ones than training saw."""
    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    record = payload["preprocessing"]
    ink, labels = dataset.part("test")
    wide_config = strings.RenderConfig(min_length=14, max_length=16)
    sets = {"real": strings.make_strings(ink, labels, 128, payload["data"]["seed"] + 2)[0],
            "unseen_width": strings.make_strings(ink, labels, 16, payload["data"]["seed"] + 3, wide_config)[0]}
    return {name: ((strings.stack_padded(images) - record["mean"][0]) / record["std"][0]).astype(np.float32)
            for name, images in sets.items()}


def calibration_inputs(payload: dict) -> np.ndarray:
    """Strings of training-split digits, normalized, for INT8 calibration (never test)."""
    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    record = payload["preprocessing"]
    ink, labels = dataset.part("train")
    images = strings.make_strings(ink, labels, 256, payload["data"]["seed"] + 11)[0]
    return ((strings.stack_padded(images) - record["mean"][0]) / record["std"][0]).astype(np.float32)


def write_samples(payload: dict, folder: Path, scale: int = 3) -> list[Path]:
    """A few test-split strings as dark-on-light PNGs named by their text, for the demo."""
    from PIL import Image

    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    ink, labels = dataset.part("test")
    images, texts = strings.make_strings(ink, labels, 6, payload["data"]["seed"] + 7)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for image, text in zip(images, texts):
        pixels = data.dark_on_light(image)
        picture = Image.fromarray(pixels).resize((image.shape[1] * scale, image.shape[0] * scale),
                                                 Image.Resampling.BICUBIC)
        with atomic.atomic_path(folder / f"string_{text}.png") as tmp:
            picture.save(tmp, format="PNG")
        written.append(folder / f"string_{text}.png")
    return written
