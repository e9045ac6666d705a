"""The colour photos that ship inside scikit-image and scikit-learn, split by photo.

Splitting by photo (not by patch) keeps every held-out pixel unseen: patches of one photo are strongly
correlated, so a patch-level split would leak. Test photos are natural scenes a user would recognise.
"""

import numpy as np

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


def load_split(part: str) -> dict[str, np.ndarray]:
    return {name: load_photo(name) for name in SPLIT[part]}


def random_patches(photos: list[np.ndarray], count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random (3, size, size) crops with random flips, drawn from the photos in proportion to area."""
    areas = np.array([p.shape[0] * p.shape[1] for p in photos], dtype=np.float64)
    choice = rng.choice(len(photos), size=count, p=areas / areas.sum())
    patches = np.empty((count, 3, size, size), np.float32)
    for row, index in enumerate(choice):
        photo = photos[index]
        top = int(rng.integers(0, photo.shape[0] - size + 1))
        left = int(rng.integers(0, photo.shape[1] - size + 1))
        patch = photo[top : top + size, left : left + size]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1]
        patches[row] = patch.transpose(2, 0, 1)
    return patches
