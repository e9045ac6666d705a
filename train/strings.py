"""Strings of handwritten digits made from scikit-learn's digits, for the CRNN reader.

Each string places 1 to 8 digit images side by side with random scale, aspect, vertical jitter and
spacing, on a canvas of fixed height. Which digits may be used is decided by the caller (the train split's
digits for training strings, the test split's for test strings), so no test digit is ever trained on.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

HEIGHT = 16
WIDTH_MULTIPLE = 4  # the reader's convolutions halve the width twice


@dataclass(frozen=True)
class RenderConfig:
    height: int = HEIGHT
    min_length: int = 1
    max_length: int = 8
    scale: tuple[float, float] = (1.3, 1.9)  # 8x8 digits become about 10..15 pixels tall
    aspect: tuple[float, float] = (0.85, 1.15)
    gap: tuple[int, int] = (-1, 3)  # pixels between neighbours; negative overlaps a little
    margin: tuple[int, int] = (1, 4)


def _resize(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    image = Image.fromarray(ink.astype(np.float32), mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(image), 0.0, 1.0)


def pad_width(ink: np.ndarray, multiple: int = WIDTH_MULTIPLE, minimum: int = 8) -> np.ndarray:
    """Pad an (H, W) ink image on the right with background to a multiple of ``multiple`` (at least ``minimum``)."""
    width = max(minimum, -(-ink.shape[1] // multiple) * multiple)
    return np.pad(ink, ((0, 0), (0, width - ink.shape[1])))


def render(digits: list[np.ndarray], rng: np.random.Generator, config: RenderConfig = RenderConfig()) -> np.ndarray:
    """Place 8x8 ink ``digits`` left to right on one (height, W) canvas; W is padded to a multiple of 4."""
    pieces, positions, x = [], [], int(rng.integers(*config.margin, endpoint=True))
    for index, digit in enumerate(digits):
        scale = rng.uniform(*config.scale)
        height = min(config.height, int(round(8 * scale)))
        width = max(4, int(round(8 * scale * rng.uniform(*config.aspect))))
        piece = _resize(digit, height, width)
        if index:
            x = max(0, x + int(rng.integers(*config.gap, endpoint=True)))
        positions.append((x, int(rng.integers(0, config.height - height, endpoint=True))))
        pieces.append(piece)
        x += width
    canvas = np.zeros((config.height, x + int(rng.integers(*config.margin, endpoint=True))), np.float32)
    for piece, (left, top) in zip(pieces, positions):
        region = canvas[top : top + piece.shape[0], left : left + piece.shape[1]]
        np.maximum(region, piece, out=region)  # ink overlaps like ink: the darker stroke wins
    return pad_width(canvas)


def make_strings(ink: np.ndarray, labels: np.ndarray, count: int, seed: int,
                 config: RenderConfig = RenderConfig()) -> tuple[list[np.ndarray], list[str]]:
    """``count`` random strings drawn from the given digits: (list of (H, W) ink images, list of labels)."""
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for _ in range(count):
        length = int(rng.integers(config.min_length, config.max_length, endpoint=True))
        chosen = rng.integers(0, len(labels), size=length)
        images.append(render([ink[i, 0] for i in chosen], rng, config))
        texts.append("".join(str(labels[i]) for i in chosen))
    return images, texts


def stack_padded(images: list[np.ndarray]) -> np.ndarray:
    """(N, 1, H, W_max) float32, each image padded on the right with background (ink 0)."""
    width = max(image.shape[1] for image in images)
    batch = np.zeros((len(images), 1, images[0].shape[0], width), np.float32)
    for row, image in enumerate(images):
        batch[row, 0, :, : image.shape[1]] = image
    return batch
