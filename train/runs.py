"""Run folders: where a training run writes, named once here, and where ``visionrt export`` finds them.

``runs/<model>-<YYYYmmdd-HHMMSS>-seed<N>/`` with ``best.pt`` (or one ``<graph>.pt`` per graph for runs that
train several); the export command's default checkpoint is the newest of them.
"""

import time
from pathlib import Path


def new_run_dir(runs_dir: str | Path, model: str, seed: int) -> Path:
    """A fresh folder for one run of ``model``; a second run in the same second gets its own, never another's."""
    base = Path(runs_dir) / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def checkpoints(runs_dir: str | Path, model: str) -> list[Path]:
    """Every checkpoint of ``model`` under ``runs_dir``, oldest first."""
    runs = Path(runs_dir)
    return sorted([*runs.glob(f"{model}-*/best.pt"), *runs.glob(f"*/{model}.pt")], key=lambda p: p.stat().st_mtime)
