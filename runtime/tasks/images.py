"""Turn what users hold (PIL images, file paths, numpy arrays of any size and color mode) into the
network's float32 NCHW input, following the preprocessing record an artifact carries."""

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from visionrt.artifact import Preprocessing
from visionrt.errors import UserInputError

RESAMPLE = {"box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}


def is_single_image(item) -> bool:
    return isinstance(item, (Image.Image, str, os.PathLike)) or (isinstance(item, np.ndarray) and item.ndim <= 3)


def to_pil(item) -> Image.Image:
    if isinstance(item, Image.Image):
        return item
    if isinstance(item, (str, os.PathLike)):
        return _open(Path(item))
    if isinstance(item, np.ndarray):
        return _from_array(item)
    raise UserInputError(f"expected a PIL image, a file path or a numpy array, got {type(item).__name__}")


def _open(path: Path) -> Image.Image:
    if not path.is_file():
        raise UserInputError(f"image file not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except (UnidentifiedImageError, OSError) as exc:
        raise UserInputError(f"{path} is not a readable image: {exc}") from exc


def _from_array(array: np.ndarray) -> Image.Image:
    """HxW or HxWxC (C = 1, 3, 4); uint8 in 0..255 or float in [0, 1]."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)) or 0 in array.shape:
        raise UserInputError(f"image array must be HxW or HxWxC with C in (1, 3, 4), got shape {array.shape}")
    if array.dtype == np.uint8:
        pixels = array
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise UserInputError(f"float image arrays must hold finite values in [0, 1], got range "
                                 f"[{np.nanmin(array):.3g}, {np.nanmax(array):.3g}]; or pass uint8 in 0..255")
        pixels = np.round(array * 255).astype(np.uint8)
    else:
        raise UserInputError(f"image arrays must be uint8 or float, got {array.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return Image.fromarray(pixels)


def flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite transparent images over white, as they would be seen on a page."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image


def preprocess(items: list, record: Preprocessing) -> np.ndarray:
    """Stack ``items`` into a normalized float32 (N, C, H, W) batch as ``record`` prescribes.

    A width of None keeps each image's aspect ratio, rounds the width up to ``width_multiple`` and pads
    every image on the right with background to the widest in the batch; ``invert`` means the network sees
    1 - x (ink on paper).
    """
    height, width = record.size
    resample = RESAMPLE[record.resample]
    arrays = []
    for item in items:
        image = flatten_alpha(to_pil(item)).convert(record.color)
        target = width or max(1, round(image.width * height / image.height))
        arrays.append(np.asarray(image.resize((target, height), resample), dtype=np.float32))
    arrays = [a[:, :, None] if a.ndim == 2 else a for a in arrays]  # (H, W, C)
    batch = _pad_stack(arrays, record) * np.float32(record.scale)
    if record.invert:
        batch = 1.0 - batch
    mean = np.asarray(record.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(record.std, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((batch.transpose(0, 3, 1, 2) - mean) / std, dtype=np.float32)


def _pad_stack(arrays: list[np.ndarray], record: Preprocessing) -> np.ndarray:
    """(N, H, W, C): fixed-size images stack as they are; variable widths pad with the background value."""
    multiple, minimum = record.width_multiple, record.min_width
    widest = max(a.shape[1] for a in arrays)
    width = max(minimum, -(-widest // multiple) * multiple)
    if all(a.shape[1] == width for a in arrays):
        return np.stack(arrays)
    background = 255.0 if record.invert else 0.0  # light paper when ink is inverted, else black
    batch = np.full((len(arrays), arrays[0].shape[0], width, arrays[0].shape[2]), background, np.float32)
    for row, array in enumerate(arrays):
        batch[row, :, : array.shape[1]] = array
    return batch
