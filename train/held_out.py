"""Figures on held-out photos, per photo and per kind (people, objects, landscape, indoor, nature), for the
colorizer and style: what their trainers record and what ``python -m visionrt.train.held_out`` measures for an
installed model through the runtime.

Photos are judged at a long side of ``EVAL_SIDE`` (half the varied folder's 1024), which is how a user's phone
photo reaches these models after the runtime's own working resolution, and keeps the style judge affordable.
"""

import argparse
import json
from pathlib import Path

import numpy as np

EVAL_SIDE = 512


def at_side(photo: np.ndarray, side: int = EVAL_SIDE) -> np.ndarray:
    """A float RGB photo scaled down (never up) to a long side of ``side``."""
    from PIL import Image

    height, width = photo.shape[:2]
    factor = side / max(height, width)
    if factor >= 1:
        return photo
    image = Image.fromarray(np.round(photo * 255).astype(np.uint8))
    small = image.resize((round(width * factor), round(height * factor)), Image.Resampling.LANCZOS)
    return np.asarray(small, np.float32) / 255.0


def eval_split(part: str, data: Path | None) -> dict[str, np.ndarray]:
    from visionrt.train import photos

    return {name: at_side(photo) for name, photo in photos.load_split(part, data).items()}


def one_per_kind(names, kinds: dict[str, str]) -> list[str]:
    """One photo of each kind, a portrait first (every name, in order, where the photos have no kinds)."""
    if not kinds:
        return list(names)
    chosen, seen = [], set()
    for name in sorted(names, key=lambda n: (kinds.get(n) != "people", kinds.get(n, ""), n)):
        if kinds.get(name) not in seen:
            seen.add(kinds.get(name))
            chosen.append(name)
    return chosen


def by_kind(per_photo: dict[str, dict], kinds: dict[str, str]) -> dict[str, dict]:
    """Means of each figure over the photos of each kind (photos without a kind are left out)."""
    grouped: dict[str, list[dict]] = {}
    for name, figures in per_photo.items():
        if name in kinds:
            grouped.setdefault(kinds[name], []).append(figures)
    return {kind: {key: float(np.mean([f[key] for f in rows])) for key in rows[0]} | {"photos": len(rows)}
            for kind, rows in sorted(grouped.items())}


def colorizer_photo(colored: np.ndarray, photo: np.ndarray, gray: np.ndarray) -> dict:
    from visionrt.runtime.tasks.color import colorfulness
    from visionrt.train.denoiser import psnr

    # plain floats: numpy scalars would not load from a weights-only checkpoint
    return {"gain_over_gray_db": float(psnr(photo, colored) - psnr(photo, gray)),
            "colorfulness_ratio": float(colorfulness(colored) / max(colorfulness(photo), 1e-6))}


def gray_of(photo: np.ndarray) -> np.ndarray:
    """The baseline: the true lightness with ab = 0."""
    from visionrt.runtime.tasks.color import lab_to_rgb, rgb_to_lab

    lab = rgb_to_lab(photo)
    lab[..., 1:] = 0.0
    return lab_to_rgb(lab)


def installed_colorizer(named: dict[str, np.ndarray]) -> dict[str, dict]:
    from visionrt import runtime

    model = runtime.load("colorizer", backend="onnxruntime:cpu", precision="fp32")
    return {name: colorizer_photo(np.asarray(model.colorize(photo), np.float32) / 255.0, photo, gray_of(photo))
            for name, photo in named.items()}


def installed_style(named: dict[str, np.ndarray]) -> dict[str, dict]:
    from visionrt import runtime
    from visionrt.train import style

    model = runtime.load("style", backend="onnxruntime:cpu", precision="fp32")
    pairs = {name: (photo, np.asarray(model.stylize(np.round(photo * 255).astype(np.uint8)), np.float32) / 255.0)
             for name, photo in named.items()}
    return style.judged(pairs, style.load_style(None)[0])["per_photo"]


def summary(per_photo: dict[str, dict], kinds: dict[str, str]) -> dict:
    keys = next(iter(per_photo.values())).keys()
    return {"mean": {k: float(np.mean([f[k] for f in per_photo.values()])) for k in keys},
            "worst": {k: float(np.min([f[k] for f in per_photo.values()])) for k in keys},
            "by_kind": by_kind(per_photo, kinds), "per_photo": per_photo}


def main(argv: list[str] | None = None) -> int:
    from visionrt.train import photos

    parser = argparse.ArgumentParser(description="An installed colorizer or style on the varied test photos, "
                                                 "through the runtime (FP32, ONNX Runtime), per kind.")
    parser.add_argument("model", choices=("colorizer", "style"))
    parser.add_argument("--part", default="test", choices=("test", "val"))
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    folder = photos.training_folder("varied", None)
    named = eval_split(args.part, folder)
    measure = installed_colorizer if args.model == "colorizer" else installed_style
    figures = summary(measure(named), photos.kinds(folder))
    text = json.dumps(figures, indent=1)
    if args.out:
        from visionrt import atomic

        atomic.write_text(args.out, text)
    print(json.dumps({k: v for k, v in figures.items() if k != "per_photo"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
