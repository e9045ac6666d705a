"""Turn what users hold (PIL images, file paths, numpy arrays of any size and color mode) into the
network's float32 NCHW input, following the preprocessing record an artifact carries."""

import io
import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visionrt.artifact import Preprocessing
from visionrt.errors import UserInputError
from visionrt.runtime.model import DEFAULT_MAX_PIXELS

VIEWABLE = ("L", "LA", "RGB", "RGBA", "P", "PA")  # modes Pillow converts between without losing meaning
RESAMPLE = {"box": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}


def is_single_image(item) -> bool:
    return isinstance(item, (Image.Image, str, os.PathLike)) or (isinstance(item, np.ndarray) and item.ndim <= 3)


def to_pil(item, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """``item`` as a PIL image the way a photo viewer shows it (upright, 8 bits a channel), or UserInputError."""
    if isinstance(item, Image.Image):
        return viewable(item, "the image", max_pixels)
    if isinstance(item, str) and "://" in item:
        raise UserInputError(f"{item} is an address; visionrt reads local files only: download it first")
    if isinstance(item, (str, os.PathLike)):
        return _open(Path(item), max_pixels)
    if isinstance(item, np.ndarray):
        return _from_array(item)
    raise UserInputError(f"expected a PIL image, a file path or a numpy array, got {type(item).__name__}")


def _open(path: Path, max_pixels: int) -> Image.Image:
    if path.is_dir():
        raise UserInputError(f"{path} is a folder, not an image file")
    if not path.is_file():
        raise UserInputError(f"image file not found: {path}")
    return decode(path, str(path), max_pixels)


def from_bytes(data: bytes, origin: str = "the uploaded image", max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An encoded image (PNG, JPEG, ...) held in memory, with the checks a file on disk gets."""
    if not data:
        raise UserInputError(f"{origin} is empty (0 bytes)")
    return decode(io.BytesIO(data), origin, max_pixels)


def decode(source, origin: str, max_pixels: int) -> Image.Image:
    """Open ``source`` (a path or a file object), refusing oversized images from the header before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is checked below
            with Image.open(source) as image:
                check_size(image, origin, max_pixels)  # from the header: nothing is decoded yet
                image.load()
                return viewable(image, origin, max_pixels)
    except Image.DecompressionBombError as exc:
        raise UserInputError(f"{origin} is too large to decode ({exc}); visionrt's limit is {max_pixels:,} pixels "
                             "(model.max_pixels)") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            struct.error) as exc:  # what Pillow's decoders raise on damaged files
        raise UserInputError(f"{origin} is not a readable image: {exc}") from exc


def check_size(image: Image.Image, origin: str, max_pixels: int) -> None:
    pixels = image.width * image.height
    if pixels > max_pixels:
        raise UserInputError(f"{origin} is {image.width}x{image.height} ({pixels:,} pixels), over the limit of "
                             f"{max_pixels:,}; shrink it, or raise model.max_pixels if the machine has the memory")
    if pixels == 0:
        raise UserInputError(f"{origin} is empty ({image.width}x{image.height})")


def viewable(image: Image.Image, origin: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Upright (EXIF orientation applied) and in an 8-bit mode: 16-bit and float greyscale scaled to 0..255
    rather than clipped (Pillow's own convert clips a 16-bit scan to white), CMYK and other colour spaces to
    RGB. A file of several frames (an animation, a multi-page scan) is refused by name: which frame is meant
    is the caller's to say."""
    check_size(image, origin, max_pixels)
    if getattr(image, "n_frames", 1) > 1:
        raise UserInputError(f"{origin} holds {image.n_frames} frames; pass one (e.g. image.seek(i) on a PIL image)")
    image = ImageOps.exif_transpose(image)
    if image.mode in VIEWABLE:
        return image
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        top = 1.0 if image.mode == "F" and values.max() <= 1.0 else (255.0 if values.max() <= 255 else 65535.0)
        return Image.fromarray(np.round(np.clip(values, 0, top) * (255.0 / top)).astype(np.uint8), mode="L")
    if image.mode == "1":
        return image.convert("L")
    try:
        return image.convert("RGBA" if "A" in image.mode or "a" in image.mode else "RGB")
    except (ValueError, OSError) as exc:
        raise UserInputError(f"{origin} is in mode {image.mode}, which cannot be shown as RGB: {exc}") from exc


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
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image


INKS = ("auto", "dark", "light")


def ink_of(gray: Image.Image) -> str:
    """"dark" for dark strokes on light paper, "light" for light strokes on a dark ground: the border is the
    paper, so ink is whatever is on the other side of it from the image's mean. A blank image is "dark"."""
    pixels = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return "light" if np.median(border) < pixels.mean() else "dark"


def preprocess(items: list, record: Preprocessing, ink: str = "dark") -> np.ndarray:
    """Stack ``items`` into a normalized float32 (N, C, H, W) batch as ``record`` prescribes (see prepare)."""
    return prepare(items, record, ink)[0]


def prepare(items: list, record: Preprocessing, ink: str = "auto", max_width: int | None = None,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, list[str | None]]:
    """(the normalized float32 (N, C, H, W) batch ``record`` prescribes, each image's ink).

    A width of None keeps each image's aspect ratio, rounds the width up to ``width_multiple`` and pads
    every image on the right with background to the widest in the batch; ``invert`` means the network sees
    1 - x, ink on paper: such models take dark ink on light paper, and an image of light ink on a dark ground
    (MNIST's and scikit-learn's convention) is turned over first. ``ink``: "auto" decides per image
    (:func:`ink_of`), "dark" or "light" says it for all. Models without ink report None. ``max_width``: the
    widest input the model takes; a wider one is refused before it is resized (a 275-byte 200000x1 PNG
    would otherwise become a 3.2-megapixel strip).
    """
    if ink not in INKS:
        raise UserInputError(f"ink must be one of {INKS}, got {ink!r}")
    height, width = record.size
    resample = RESAMPLE[record.resample]
    arrays, inks = [], []
    for item in items:
        image = flatten_alpha(to_pil(item, max_pixels)).convert(record.color)
        found = (ink_of(image) if ink == "auto" else ink) if record.invert and record.color == "L" else None
        if found == "light":
            image = Image.eval(image, lambda value: 255 - value)
        inks.append(found)
        target = width or max(1, round(image.width * height / image.height))
        if max_width is not None and target > max_width:
            raise UserInputError(f"image {len(arrays) + 1} of {len(items)} ({image.width}x{image.height}) is {target} px "
                                 f"wide at the model's {height} px height; the model takes at most {max_width}: "
                                 "split it into shorter pieces")
        arrays.append(np.asarray(image.resize((target, height), resample), dtype=np.float32))
    arrays = [a[:, :, None] if a.ndim == 2 else a for a in arrays]  # (H, W, C)
    batch = _pad_stack(arrays, record) * np.float32(record.scale)
    if record.invert:
        batch = 1.0 - batch
    mean = np.asarray(record.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(record.std, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((batch.transpose(0, 3, 1, 2) - mean) / std, dtype=np.float32), inks


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
