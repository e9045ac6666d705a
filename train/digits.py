"""Train the zoo's digits classifier: split, (optional) search, fit, test once, write the run folder."""

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from visionrt import atomic
from visionrt.extras import require
from visionrt.train import checkpoint, data, evaluate, loop, runs, search
from visionrt.train.config import FromSpec

LABELS = [str(d) for d in range(10)]


@dataclass
class DigitsTrainConfig(FromSpec):
    MODEL: ClassVar[str] = "digits"

    seed: int = 0  # seeds the split, the initialization, the batch order and the augmentation
    optimizer: str = "adam"
    lr: float = 2e-3
    batch_size: int = 64
    width: int = 32  # channels of the first conv; the second has twice as many
    epochs: int = 150
    patience: int = 30
    search: str | None = None  # None, "random" or "grid"
    trials: int = 8
    runs_dir: Path = Path("runs")
    limit: int | None = None  # train on only this many training images (for quick tests)
    progress: bool = True



@dataclass
class Preprocess:
    """Augmentation (training only) then normalization with the training split's statistics."""

    mean: float
    std: float
    augment: bool = True

    def __call__(self, ink, generator, training: bool):
        if training and self.augment:
            ink = data.random_affine(ink, generator)
        return (ink - self.mean) / self.std


@dataclass
class Trial:
    hparams: dict
    model: object = field(repr=False)
    result: loop.FitResult = field(repr=False)
    val_loss: float = 0.0
    val_acc: float = 0.0
    seconds: float = 0.0


def run_trial(dataset: data.DigitsData, config: DigitsTrainConfig, hparams: dict, prepare: Preprocess) -> Trial:
    torch = require("torch", "train")
    from visionrt.model_zoo.digits import DigitsCNN

    torch.manual_seed(config.seed)
    model = DigitsCNN(width=hparams["width"])
    fit_config = loop.FitConfig(
        optimizer=config.optimizer, lr=hparams["lr"], batch_size=hparams["batch_size"], epochs=config.epochs,
        patience=config.patience, seed=config.seed, progress=config.progress,
    )
    train_x, train_y = dataset.part("train")
    if config.limit:
        train_x, train_y = train_x[: config.limit], train_y[: config.limit]
    started = time.perf_counter()
    result = loop.fit(model, (train_x, train_y), dataset.part("val"), fit_config, prepare)
    val_loss, val_acc = loop.evaluate_loss(model, *dataset.part("val"), prepare)
    return Trial(hparams, model, result, val_loss, val_acc, time.perf_counter() - started)


def train_digits(config: DigitsTrainConfig) -> Path:
    """Train (searching first if asked), evaluate once on test, and return the run folder."""
    torch = require("torch", "train")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    dataset = data.load_digits_data(seed=config.seed)
    mean, std = data.normalization(dataset.part("train")[0])
    prepare = Preprocess(mean, std)
    run_dir = runs.new_run_dir(config.runs_dir, "digits", config.seed)

    if config.search:
        candidates = search.sample_trials(config.search, config.trials, config.seed)
    else:
        candidates = [{"lr": config.lr, "batch_size": config.batch_size, "width": config.width}]
    trials = []
    for number, hparams in enumerate(candidates, 1):
        print(f"trial {number}/{len(candidates)}: {hparams}", flush=True)
        trials.append(run_trial(dataset, config, hparams, prepare))
    rows = [{**t.hparams, "val_acc": t.val_acc, "val_loss": t.val_loss, "best_epoch": t.result.best_epoch,
             "seconds": round(t.seconds, 1)} for t in trials]
    chosen = trials[rows.index(search.best_trial(rows))]
    if config.search:
        search.write_trials_table(rows, run_dir)

    metrics = test_metrics(chosen.model, dataset, prepare)
    write_reports(run_dir, chosen, metrics)
    checkpoint.save(run_dir / "best.pt", {
        "model": "digits",
        "arch_kwargs": {"width": chosen.hparams["width"]},
        "state_dict": chosen.model.state_dict(),
        "labels": LABELS,
        "preprocessing": preprocessing_record(mean, std),
        "metrics": {k: v for k, v in metrics.items() if k != "confusion_matrix"},
        "data": {"source": "sklearn.datasets.load_digits", "seed": config.seed,
                 "sizes": {name: int(len(getattr(dataset.split, name))) for name in ("train", "val", "test")}},
        "train_config": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
                         **chosen.hparams, "best_epoch": chosen.result.best_epoch,
                         "train_seconds": round(chosen.seconds, 1)},
    })
    print(f"test accuracy {metrics['accuracy']:.4f} ({metrics['errors']} errors of {metrics['samples']}); "
          f"run folder {run_dir}")
    return run_dir


def preprocessing_record(mean: float, std: float) -> dict:
    """How the runtime turns an image into the network input (see runtime/tasks/preprocess.py)."""
    return {"color": "L", "invert": True, "size": [8, 8], "resample": "box", "scale": 1.0 / 255.0,
            "mean": [mean], "std": [std]}


def predict(model, ink: np.ndarray, prepare: Preprocess) -> np.ndarray:
    torch = require("torch", "train")
    model.eval()
    with torch.no_grad():
        return model(prepare(torch.from_numpy(ink), None, False)).numpy()


def test_metrics(model, dataset: data.DigitsData, prepare: Preprocess) -> dict:
    test_x, test_y = dataset.part("test")
    predicted = predict(model, test_x, prepare).argmax(1)
    return evaluate.classification_metrics(test_y, predicted, len(LABELS))


def write_reports(run_dir: Path, trial: Trial, metrics: dict) -> None:
    matrix = np.array(metrics["confusion_matrix"])
    text = evaluate.confusion_text(matrix, LABELS)
    atomic.write_text(run_dir / "confusion_matrix.txt", text + "\n")
    print(text)
    evaluate.save_confusion_png(matrix, LABELS, run_dir / "confusion_matrix.png",
                                f"digits test split: accuracy {metrics['accuracy']:.4f}")
    evaluate.save_loss_curve_png(trial.result.history, run_dir / "loss_curve.png", "digits training")
    atomic.write_text(run_dir / "training.json", json.dumps(
        {"hparams": trial.hparams, "best_epoch": trial.result.best_epoch, "test": metrics,
         "history": trial.result.history}, indent=1))


def validation_inputs(payload: dict) -> np.ndarray:
    """The checkpoint's own test split, normalized as the network expects (used by export's parity gate)."""
    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    record = payload["preprocessing"]
    ink, _ = dataset.part("test")
    return ((ink - record["mean"][0]) / record["std"][0]).astype(np.float32)


def calibration_inputs(payload: dict) -> np.ndarray:
    """The training split, normalized as the network expects: what INT8 calibration may see (never test)."""
    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    record = payload["preprocessing"]
    ink, _ = dataset.part("train")
    return ((ink - record["mean"][0]) / record["std"][0]).astype(np.float32)


def write_samples(payload: dict, folder: Path, scale: int = 4) -> list[Path]:
    """One test-split digit per class as a dark-on-light PNG (how a scanned digit looks), for the demo."""
    from PIL import Image

    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    ink, labels = dataset.part("test")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for digit in range(10):
        index = int(np.flatnonzero(labels == digit)[0])
        pixels = data.dark_on_light(ink[index, 0])
        image = Image.fromarray(pixels).resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
        with atomic.atomic_path(folder / f"digit_{digit}.png") as tmp:
            image.save(tmp, format="PNG")
        written.append(folder / f"digit_{digit}.png")
    return written


def baselines(payload: dict) -> dict[str, float]:
    """The anchor to beat, measured on the same split: an RBF SVM with C chosen on validation."""
    svm = require("sklearn.svm", "train")
    dataset = data.load_digits_data(seed=payload["data"]["seed"])
    flat = {name: (x.reshape(len(x), -1), y) for name, (x, y) in
            ((n, dataset.part(n)) for n in ("train", "val", "test"))}
    scores = {c: svm.SVC(C=c, gamma="scale").fit(*flat["train"]).score(*flat["val"]) for c in (1, 3, 10, 30)}
    best_c = max(scores, key=scores.get)
    train_val_x = np.concatenate([flat["train"][0], flat["val"][0]])
    train_val_y = np.concatenate([flat["train"][1], flat["val"][1]])
    accuracy = svm.SVC(C=best_c, gamma="scale").fit(train_val_x, train_val_y).score(*flat["test"])
    return {f"RBF SVM test accuracy (C={best_c} chosen on validation)": float(accuracy)}
