"""Hyperparameter search: trial sampling (random or grid) and the trials table.

Trials are ranked on the validation split only; the test split is never looked at here.
"""

import csv
import io
import itertools
import math
import random
from pathlib import Path

from visionrt import atomic
from visionrt.errors import UserInputError

# The space searched for the digits classifier: lr is sampled log-uniformly in random search.
SPACE = {"lr": (3e-4, 1e-2), "batch_size": (32, 64, 128), "width": (16, 32, 48)}
GRID_LR = (5e-4, 2e-3, 6e-3)


def sample_trials(strategy: str, trials: int, seed: int) -> list[dict]:
    if trials < 1:
        raise UserInputError(f"--trials must be at least 1, got {trials}")
    if strategy == "random":
        rng = random.Random(seed)
        low, high = SPACE["lr"]
        return [
            {
                "lr": round(math.exp(rng.uniform(math.log(low), math.log(high))), 6),
                "batch_size": rng.choice(SPACE["batch_size"]),
                "width": rng.choice(SPACE["width"]),
            }
            for _ in range(trials)
        ]
    if strategy == "grid":
        grid = [
            {"lr": lr, "batch_size": batch, "width": width}
            for lr, batch, width in itertools.product(GRID_LR, SPACE["batch_size"], SPACE["width"])
        ]
        return grid[:trials]
    raise UserInputError(f"search strategy must be 'random' or 'grid', got '{strategy}'")


def best_trial(rows: list[dict]) -> dict:
    """Highest validation accuracy, ties broken by lower validation loss."""
    return max(rows, key=lambda row: (row["val_acc"], -row["val_loss"]))


def write_trials_table(rows: list[dict], folder: Path) -> tuple[Path, Path]:
    """Write the trials as CSV (for tools) and Markdown (for people), best trial marked."""
    columns = list(rows[0])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    csv_path = atomic.write_text(folder / "trials.csv", buffer.getvalue())
    best = best_trial(rows)
    lines = ["| " + " | ".join(columns) + " | chosen |", "|" + "---|" * (len(columns) + 1)]
    for row in rows:
        cells = [f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + f" | {'**yes**' if row is best else ''} |")
    md_path = atomic.write_text(folder / "trials.md", "\n".join(lines) + "\n")
    return csv_path, md_path
