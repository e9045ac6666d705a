"""The colour photos that ship inside scikit-image and scikit-learn, split by photo.

Splitting by photo (not by patch) keeps every held-out pixel unseen: patches of one photo are strongly
correlated, so a patch-level split would leak. Test photos are natural scenes a user would recognise.
``data``, where a function takes it, is a folder of the user's own photos (``visionrt train MODEL --data
DIR``): split by file the same way, with a fixed shuffle so that the split never depends on the training seed.
"""

from pathlib import Path

import numpy as np

from visionrt.errors import UserInputError
from visionrt.extras import require

SPLIT = {
    "train": ("astronaut", "rocket", "china", "hubble_deep_field", "retina", "immunohistochemistry"),
    "val": ("flower",),
    "test": ("chelsea", "coffee"),
}


def load_photo(name: str) -> np.ndarray:
    """One photo as float32 RGB in [0, 1], shape (H, W, 3)."""
    if name in ("china", "flower"):
        datasets = require("sklearn.datasets", "train")
        bunch = datasets.load_sample_images()
        index = [path.rsplit("/", 1)[-1] for path in bunch.filenames].index(f"{name}.jpg")
        pixels = bunch.images[index]
    else:
        pixels = getattr(require("skimage.data", "train"), name)()
    return pixels[..., :3].astype(np.float32) / 255.0


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MIN_SIDE = 64  # training crops are at most this; a smaller photo cannot give one


def folder_split(data: str | Path) -> dict[str, tuple[str, ...]]:
    """Split a folder's images by file: about 10% validation and 10% test (at least one each), the rest train."""
    folder = Path(data)
    if not folder.is_dir():
        raise UserInputError(f"--data {folder}: not a folder")
    files = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 3:
        raise UserInputError(f"--data {folder}: found {len(files)} images ({', '.join(IMAGE_SUFFIXES)}); "
                             "need at least 3 (train, validation and test are split by photo)")
    order = [files[i] for i in np.random.default_rng(0).permutation(len(files))]
    held = max(1, round(0.1 * len(files)))
    return {"val": tuple(order[:held]), "test": tuple(order[held : 2 * held]), "train": tuple(order[2 * held :])}


def load_file(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise UserInputError(f"cannot read image {path}: {exc}") from exc
    if min(pixels.shape[:2]) < MIN_SIDE:
        raise UserInputError(f"{path} is {pixels.shape[1]}x{pixels.shape[0]}; training photos need both sides "
                             f">= {MIN_SIDE} px")
    return pixels


def load_split(part: str, data: str | Path | None = None) -> dict[str, np.ndarray]:
    """The photos of one split by name: the bundled ones, or those of the folder ``data``."""
    if data is None:
        return {name: load_photo(name) for name in SPLIT[part]}
    return {name: load_file(Path(data) / name) for name in folder_split(data)[part]}


def split_record(data: str | Path | None) -> dict:
    """What the checkpoint records about its photos."""
    if data is None:
        return {"source": "skimage.data and sklearn sample photos, split by photo",
                "photos": {k: list(v) for k, v in SPLIT.items()}}
    return {"source": f"folder {Path(data).resolve()}, split by file",
            "photos": {k: list(v) for k, v in folder_split(data).items()}}


def random_patches(photos: list[np.ndarray], count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random (3, size, size) crops with random flips, drawn from the photos in proportion to area."""
    areas = np.array([p.shape[0] * p.shape[1] for p in photos], dtype=np.float64)
    choice = rng.choice(len(photos), size=count, p=areas / areas.sum())
    patches = np.empty((count, 3, size, size), np.float32)
    for row, index in enumerate(choice):
        photo = photos[index]
        if min(photo.shape[:2]) < size:
            raise UserInputError(f"a training photo is {photo.shape[1]}x{photo.shape[0]}, smaller than the "
                                 f"{size}x{size} training crop; give larger photos")
        top = int(rng.integers(0, photo.shape[0] - size + 1))
        left = int(rng.integers(0, photo.shape[1] - size + 1))
        patch = photo[top : top + size, left : left + size]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1]
        patches[row] = patch.transpose(2, 0, 1)
    return patches
