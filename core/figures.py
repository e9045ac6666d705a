"""Writing matplotlib figures: headless backend, atomic PNG write, figure closed afterwards."""

from pathlib import Path

from visionrt import atomic


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | Path) -> Path:
    with atomic.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    pyplot().close(figure)
    return Path(path)
