"""Image-to-image task APIs: an image of any size in, an image of the same size out.

The network is fully convolutional but needs sides that are multiples of its down-sampling factor, so
images are reflect-padded up to one and the output is cropped back. Large images run in overlapping
tiles; each tile contributes only its interior (the margin gives every kept pixel full context), so no
seams appear where tiles meet. A network that normalizes each image by its own statistics (the style
network's instance norms) would still see every tile differently, and its palette would flip from tile to
tile; there the tiles are matched to a whole-image pass at reduced size and blended (``run_guided``).
"""

import numpy as np
from PIL import Image

from visionrt.artifact import Preprocessing
from visionrt.errors import UserInputError
from visionrt.runtime.model import DEFAULT_MAX_PIXELS, Model
from visionrt.runtime.tasks import images


BAND = 256  # rows per step of whole-image numpy work, so that its temporaries stay a band's, not an image's


def bands(height: int):
    return (slice(top, min(top + BAND, height)) for top in range(0, height, BAND))


def to_rgb01(item, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Any image input as float32 RGB in [0, 1], shape (H, W, 3)."""
    pil = images.flatten_alpha(images.to_pil(item, max_pixels)).convert("RGB")
    rgb = np.asarray(pil, dtype=np.float32)  # a new array: divided in place
    rgb /= 255.0
    return rgb


def to_image(array: np.ndarray) -> Image.Image:
    """(H, W, C) floats in [0, 1] as an 8-bit PIL image, converted band by band."""
    pixels = np.empty(array.shape, np.uint8)
    for rows in bands(len(array)):
        pixels[rows] = np.round(np.clip(array[rows], 0.0, 1.0) * 255.0)
    return Image.fromarray(pixels)


def pad_to_multiple(image: np.ndarray, multiple: int, minimum: int = 16) -> np.ndarray:
    """Reflect-pad (H, W, C) at the bottom and right to multiples of ``multiple`` and at least ``minimum``."""
    height, width = image.shape[:2]
    target_h = max(minimum, -(-height // multiple) * multiple)
    target_w = max(minimum, -(-width // multiple) * multiple)
    mode = "reflect" if height > 1 and width > 1 and target_h < 2 * height and target_w < 2 * width else "edge"
    return np.pad(image, ((0, target_h - height), (0, target_w - width), (0, 0)), mode=mode)


def tile_starts(length: int, tile: int, margin: int) -> list[int]:
    """Starts of tiles of size ``tile`` covering ``length``, overlapping by 2 * ``margin``."""
    if length <= tile:
        return [0]
    step = tile - 2 * margin
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


def run_tiled(run, image: np.ndarray, tile: int, margin: int) -> np.ndarray:
    """Apply ``run`` ((1, C, h, w) -> (1, C', h, w)) to a padded (H, W, C) image tile by tile."""
    height, width = image.shape[:2]
    output = None
    for top in tile_starts(height, tile, margin):
        for left in tile_starts(width, tile, margin):
            patch = image[top : top + tile, left : left + tile]
            result = run(np.ascontiguousarray(patch.transpose(2, 0, 1)[None]))[0].transpose(1, 2, 0)
            if output is None:
                output = np.zeros((height, width, result.shape[2]), np.float32)
            # keep the interior; at the image border the tile edge is the image edge, so keep it too
            y0 = 0 if top == 0 else margin
            x0 = 0 if left == 0 else margin
            y1 = patch.shape[0] if top + tile >= height else patch.shape[0] - margin
            x1 = patch.shape[1] if left + tile >= width else patch.shape[1] - margin
            output[top + y0 : top + y1, left + x0 : left + x1] = result[y0:y1, x0:x1]
    return output


def feather(length: int, start: int, size: int, overlap: int) -> np.ndarray:
    """Blending weights along one axis of a tile: rising over ``overlap`` pixels where the tile meets
    another, flat at the image's own edges."""
    ramp = np.clip((np.arange(size) + 0.5) / overlap, 0.0, 1.0).astype(np.float32)
    weights = np.ones(size, np.float32)
    if start > 0:
        weights = np.minimum(weights, ramp)
    if start + size < length:
        weights = np.minimum(weights, ramp[::-1])
    return weights


def run_guided(run, image: np.ndarray, tile: int, margin: int, guide_side: int, multiple: int,
               minimum: int = 16) -> np.ndarray:
    """Tiles whose colour statistics are matched to one pass over the whole image at reduced size, then
    blended where they overlap. Each tile's output is scaled and shifted per channel so that, seen at the
    guide's resolution, its mean and spread are the guide's over the same region: the whole-image pass sets
    the palette, the tiles keep their full-resolution detail."""
    height, width = image.shape[:2]
    scale = min(1.0, guide_side / max(height, width))
    floor = -(-max(minimum, multiple) // multiple) * multiple  # the smallest side the artifact takes
    size = (max(floor, int(height * scale) // multiple * multiple), max(floor, int(width * scale) // multiple * multiple))
    if size == (height, width):  # the whole image fits: its own pass is the answer
        return run(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))[0].transpose(1, 2, 0)
    guide = run(np.ascontiguousarray(resize_channels(image, size).transpose(2, 0, 1)[None]))[0].transpose(1, 2, 0)
    total, weights = None, np.zeros((height, width, 1), np.float32)
    for top in tile_starts(height, tile, margin):
        for left in tile_starts(width, tile, margin):
            patch = image[top : top + tile, left : left + tile]
            result = run(np.ascontiguousarray(patch.transpose(2, 0, 1)[None]))[0].transpose(1, 2, 0)
            rows = slice(top * size[0] // height, max(top * size[0] // height + 1, -(-(top + patch.shape[0]) * size[0] // height)))
            cols = slice(left * size[1] // width, max(left * size[1] // width + 1, -(-(left + patch.shape[1]) * size[1] // width)))
            region = guide[rows, cols]
            seen = resize_channels(result, region.shape[:2])
            gain = region.std(axis=(0, 1)) / np.maximum(seen.std(axis=(0, 1)), 1e-6)
            result = (result - seen.mean(axis=(0, 1))) * gain + region.mean(axis=(0, 1))
            w = (feather(height, top, patch.shape[0], 2 * margin)[:, None]
                 * feather(width, left, patch.shape[1], 2 * margin)[None, :])[..., None]
            if total is None:
                total = np.zeros((height, width, result.shape[2]), np.float32)
            total[top : top + patch.shape[0], left : left + patch.shape[1]] += result * w
            weights[top : top + patch.shape[0], left : left + patch.shape[1]] += w
    return total / weights


class ImageToImage(Model):
    """Shared machinery: pad, run whole or tiled, crop back to the input's size."""

    tile, margin = 512, 32  # images with both sides <= tile run whole
    guided = False  # True: the network normalizes by per-image statistics, so tiles follow a whole-image pass

    def _record(self) -> Preprocessing:
        return self.metadata.preprocessing  # the contract guarantees it for every image-to-image task

    def _map(self, inputs, convert):
        single = images.is_single_image(inputs)
        items = [inputs] if single else list(inputs)
        if not items:
            raise UserInputError("got an empty list of images")
        results = [convert(item) for item in items]
        return results[0] if single else results

    def _apply(self, array: np.ndarray) -> np.ndarray:
        height, width = array.shape[:2]
        multiple = self._record().multiple
        padded = pad_to_multiple(array, multiple)
        if max(padded.shape[:2]) <= self.tile:
            out = self.run(np.ascontiguousarray(padded.transpose(2, 0, 1)[None]))[0].transpose(1, 2, 0)
        elif self.guided:
            profile = self.profile
            side = min(profile.max[-2:]) if profile is not None else self.tile
            out = run_guided(self.run, padded, self.tile, self.margin, side, multiple,
                             max(profile.min[-2:]) if profile is not None else 16)
        else:
            out = run_tiled(self.run, padded, self.tile, self.margin)
        return out[:height, :width]

    def _rgb_to_rgb(self, inputs):
        """RGB image(s) in, the network's RGB output at each input's size out (PIL)."""
        return self._map(inputs, lambda item: to_image(self._apply(to_rgb01(item, self.max_pixels))))


class Denoiser(ImageToImage):
    def denoise(self, inputs):
        """Denoise one image (returns a PIL RGB image of the same size) or a list of them."""
        return self._rgb_to_rgb(inputs)


class Stylizer(ImageToImage):
    guided = True  # instance norms: each tile alone would get its own palette

    def stylize(self, inputs):
        """Stylize one image (a PIL RGB image of the same size comes back) or a list of them. Sides that are
        not multiples of 4 are reflect-padded and cropped back; the network sees [0, 1] pixels, never 0..255."""
        return self._rgb_to_rgb(inputs)


def resize_channels(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (H, W, C) float array to (height, width) = ``size``, channel by channel."""
    height, width = size
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(array[..., c]), mode="F")
                                .resize((width, height), Image.Resampling.BILINEAR)) for c in range(array.shape[2])], -1)


def colorize_array(run, rgb: np.ndarray, work_size: int, multiple: int = 4, minimum: int = 4) -> np.ndarray:
    """Colorize (H, W, 3) RGB in [0, 1] (only its lightness is used): predict ab at a working resolution
    (long side ``work_size``, sides multiples of ``multiple``), upsample ab, keep the original full-size L.
    ``run`` maps (1, 1, h, w) L/100 to (1, 2, h, w) ab/100. Working sides are at least ``minimum`` (the smallest
    the artifact takes), so a tiny or thin image is worked on larger rather than refused."""
    from visionrt.runtime.tasks.color import lab_to_rgb, rgb_to_lab

    height, width = rgb.shape[:2]
    lightness = np.empty((height, width, 1), np.float32)
    for rows in bands(height):
        lightness[rows] = rgb_to_lab(rgb[rows])[..., :1]
    scale = min(1.0, work_size / max(height, width))
    floor = -(-max(minimum, multiple) // multiple) * multiple
    work = (max(floor, round(height * scale / multiple) * multiple), max(floor, round(width * scale / multiple) * multiple))
    small = resize_channels(lightness, work) / 100.0
    ab = run(np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32))[0].transpose(1, 2, 0) * 100.0
    ab = resize_channels(ab.astype(np.float32), (height, width))
    out = np.empty((height, width, 3), np.float32)
    for rows in bands(height):
        out[rows] = lab_to_rgb(np.concatenate([lightness[rows], ab[rows]], -1))
    return out


class Colorizer(ImageToImage):
    def colorize(self, inputs):
        """Colorize one image (a PIL RGB image of the same size comes back) or a list; colour inputs are
        treated as their lightness alone."""
        record = self._record()
        return self._map(inputs, lambda item: to_image(
            colorize_array(self.run, to_rgb01(item, self.max_pixels), record.work_size or 256, record.multiple,
                           self._rules.profile.min[-1] if self._rules.profile else 4)))


class SwapGraph(ImageToImage):
    """One face-swap direction: any image in, resized to the graph's fixed size, and back out at the input's."""

    @property
    def direction(self) -> str:
        """The identity this graph swaps to: "b" for faceswap_to_b."""
        return self.name.rsplit("_to_", 1)[-1]

    def transform(self, inputs):
        _, _, height, width = self.inputs[0].shape
        resample = images.RESAMPLE[self._record().resample]

        def one(item):
            pil = images.flatten_alpha(images.to_pil(item, self.max_pixels)).convert("RGB")
            x = np.asarray(pil.resize((width, height), resample), np.float32).transpose(2, 0, 1)[None] / 255.0
            out = to_image(self.run(np.ascontiguousarray(x))[0].transpose(1, 2, 0))
            return out.resize(pil.size, Image.Resampling.BICUBIC) if pil.size != (width, height) else out

        return self._map(inputs, one)


class FaceSwap:
    """Both directions behind one object: ``runtime.load("faceswap").swap(images, to="b")``."""

    def __init__(self, to_a: SwapGraph, to_b: SwapGraph):
        self.directions = {"a": to_a, "b": to_b}

    def swap(self, inputs, to: str = "b"):
        if to not in self.directions:
            raise UserInputError(f"to must be 'a' or 'b', got {to!r}")
        return self.directions[to].transform(inputs)

    @property
    def reasons(self) -> list[str]:
        return [f"to {k}: {r}" for k, m in self.directions.items() for r in m.reasons]

    def describe(self) -> dict:
        return {"model": "faceswap", **{f"to_{k}": m.describe() for k, m in self.directions.items()}}

    def __repr__(self) -> str:
        return f"<FaceSwap {self.directions['a']!r} + {self.directions['b']!r}>"
