"""Classification metrics and pictures, computed once on the held-out test split."""

from pathlib import Path

import numpy as np

from visionrt import figures


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix  # rows: true class, columns: predicted class


def classification_metrics(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> dict:
    """Accuracy, macro precision and macro recall (a class never predicted counts as precision 0)."""
    matrix = confusion_matrix(truth, predicted, num_classes)
    hits = np.diag(matrix).astype(np.float64)
    predicted_counts, true_counts = matrix.sum(0), matrix.sum(1)
    precision = np.divide(hits, predicted_counts, out=np.zeros_like(hits), where=predicted_counts > 0)
    recall = np.divide(hits, true_counts, out=np.zeros_like(hits), where=true_counts > 0)
    return {
        "accuracy": float(hits.sum() / max(len(truth), 1)),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "samples": int(len(truth)),
        "errors": int(len(truth) - hits.sum()),
        "confusion_matrix": matrix.tolist(),
    }


def confusion_text(matrix: np.ndarray, labels: list[str]) -> str:
    width = max(4, *(len(label) for label in labels))
    header = "true\\pred".ljust(width + 1) + "".join(label.rjust(width + 1) for label in labels)
    rows = [label.ljust(width + 1) + "".join(str(v).rjust(width + 1) for v in row) for label, row in zip(labels, matrix)]
    return "\n".join([header, *rows])


def save_confusion_png(matrix: np.ndarray, labels: list[str], path: str | Path, title: str) -> Path:
    plt = figures.pyplot()

    figure, axes = plt.subplots(figsize=(5.5, 4.8), dpi=120)
    image = axes.imshow(matrix, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        color = "white" if value > matrix.max() / 2 else "black"
        axes.text(column, row, str(value), ha="center", va="center", color=color, fontsize=8)
    axes.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels,
             xlabel="predicted", ylabel="true", title=title)
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def save_loss_curve_png(history: list[dict], path: str | Path, title: str, loss_label: str = "cross-entropy",
                        metric_label: str = "validation accuracy", metric_range: tuple | None | str = "accuracy") -> Path:
    plt = figures.pyplot()

    epochs = [h["epoch"] for h in history]
    figure, (loss_axes, acc_axes) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=110)
    loss_axes.plot(epochs, [h["train_loss"] for h in history], label="train (augmented)")
    if history and history[0].get("val_loss") is not None:
        loss_axes.plot(epochs, [h["val_loss"] for h in history], label="validation")
    loss_axes.set(xlabel="epoch", ylabel=loss_label, yscale="log", title=title)
    loss_axes.legend()
    acc_axes.plot(epochs, [h["val_acc"] for h in history], color="tab:green")
    acc_axes.set(xlabel="epoch", ylabel=metric_label)
    if metric_range == "accuracy":
        acc_axes.set_ylim(max(0.0, min(h["val_acc"] for h in history) - 0.02), 1.0)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), one row at a time."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def sequence_metrics(truth: list[str], predicted: list[str]) -> dict:
    """Sequence accuracy, and character error rate = total edit distance / total true characters."""
    edits = sum(edit_distance(t, p) for t, p in zip(truth, predicted))
    characters = sum(len(t) for t in truth)
    by_length: dict[int, list[bool]] = {}
    for t, p in zip(truth, predicted):
        by_length.setdefault(len(t), []).append(t == p)
    return {
        "sequence_accuracy": float(np.mean([t == p for t, p in zip(truth, predicted)])),
        "character_error_rate": edits / max(characters, 1),
        "samples": len(truth),
        "characters": characters,
        "sequence_accuracy_by_length": {n: float(np.mean(v)) for n, v in sorted(by_length.items())},
    }
