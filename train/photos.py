"""The colour photos that ship inside scikit-image and scikit-learn, split by photo.

Splitting by photo (not by patch) keeps every held-out pixel unseen: patches of one photo are strongly
correlated, so a patch-level split would leak. Test photos are natural scenes a user would recognise.
``data``, where a function takes it, is a folder of the user's own photos (``visionrt train MODEL --data
DIR``): split by file the same way, with a fixed shuffle so that the split never depends on the training seed.
"""

import json
import os
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


PHOTO_SETS = ("varied", "bundled")


def varied_dir() -> Path:
    """Where ``visionrt photos`` builds the varied set: $VISIONRT_PHOTOS, or ~/.cache/visionrt/photos."""
    return Path(os.environ.get("VISIONRT_PHOTOS", Path.home() / ".cache" / "visionrt" / "photos"))


def training_folder(photo_set: str, data: str | Path | None) -> Path | None:
    """The folder a trainer reads: the user's ``data``, else the varied set's folder; None for the bundled set."""
    if data is not None:
        return Path(data)
    if photo_set == "bundled":
        return None
    if photo_set != "varied":
        raise UserInputError(f"photo set {photo_set!r}: choose one of {', '.join(PHOTO_SETS)}")
    from visionrt.train import photo_fetch

    if not photo_fetch.is_current(varied_dir()):
        raise UserInputError(f"the varied photo set is not at {varied_dir()} (or is out of date): build it with "
                             "`visionrt photos` (Debian packages, about 180 MB, half a minute), or train on the "
                             "bundled photos with --photos bundled")
    return varied_dir()


def manifest(folder: Path) -> list[dict] | None:
    """The rows of a folder's photos.json (written by ``visionrt photos``), if it has one."""
    path = folder / "photos.json"
    return json.loads(path.read_text())["photos"] if path.is_file() else None


def kinds(data: str | Path | None) -> dict[str, str]:
    """Photo name -> kind (people, objects, ...) where the folder's manifest says; empty otherwise."""
    if data is None:
        return {}
    return {Path(row["file"]).stem: row["kind"] for row in manifest(Path(data)) or ()}


def folder_split(data: str | Path) -> dict[str, tuple[str, ...]]:
    """Split a folder's images by file: as its photos.json says where it has one; otherwise about 10%
    validation and 10% test (at least one each), the rest train."""
    folder = Path(data)
    if not folder.is_dir():
        raise UserInputError(f"--data {folder}: not a folder")
    rows = manifest(folder)
    if rows is not None:
        return {part: tuple(r["file"] for r in rows if r["split"] == part) for part in ("val", "test", "train")}
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
    folder = Path(data)
    by_stem = manifest(folder) is not None  # the varied set's names are unique without their suffix
    return {Path(f).stem if by_stem else f: load_file(folder / f) for f in folder_split(folder)[part]}


def split_record(data: str | Path | None) -> dict:
    """What the checkpoint records about its photos."""
    if data is None:
        return {"source": "skimage.data and sklearn sample photos, split by photo",
                "photos": {k: list(v) for k, v in SPLIT.items()}}
    split = {k: list(v) for k, v in folder_split(data).items()}
    if manifest(Path(data)) is None:
        return {"source": f"folder {Path(data).resolve()}, split by file", "photos": split}
    return {"source": "the varied photo set (`visionrt photos`: Debian packages and the bundled photos, "
                      "train/photo_sources.py), split by scene", "photos": split, "kinds": kinds(data)}


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
