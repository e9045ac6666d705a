"""The digits data: scikit-learn's bundled 8x8 digits, a seeded stratified split, and augmentation.

Images are kept as *ink intensity* in [0, 1] (sklearn's 0..16 divided by 16), the quantity the model sees
before normalization. Augmentation works on ink, so that pixels shifted in from outside are background (0).
"""

from dataclasses import dataclass

import numpy as np

from visionrt.extras import require


@dataclass(frozen=True)
class Split:
    """Index arrays into the full dataset; test is held out until the very end of training."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class DigitsData:
    ink: np.ndarray  # (N, 1, 8, 8) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64
    split: Split

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        index = getattr(self.split, name)
        return self.ink[index], self.labels[index]


def load_digits_data(seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.2) -> DigitsData:
    """Load sklearn's digits and split them: ``test_fraction`` of all, then ``val_fraction`` of the rest."""
    datasets = require("sklearn.datasets", "train")
    model_selection = require("sklearn.model_selection", "train")
    bunch = datasets.load_digits()
    ink = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    everything = np.arange(len(labels))
    rest, test = model_selection.train_test_split(
        everything, test_size=test_fraction, stratify=labels, random_state=seed
    )
    train, val = model_selection.train_test_split(
        rest, test_size=val_fraction, stratify=labels[rest], random_state=seed
    )
    return DigitsData(ink, labels, Split(np.sort(train), np.sort(val), np.sort(test)))


def dark_on_light(ink: np.ndarray) -> np.ndarray:
    """Ink in [0, 1] (1: stroke) as uint8 pixels the way the digits are drawn on paper: dark strokes on white,
    what a user's scan or photo holds and what the task APIs are given."""
    return np.round(255 * (1.0 - ink)).astype(np.uint8)


def normalization(ink: np.ndarray) -> tuple[float, float]:
    """Scalar mean and std of the training ink, recorded for the runtime's preprocessing."""
    return float(ink.mean()), float(ink.std())


def random_affine(ink, generator, max_degrees: float = 12.0, max_shift_px: float = 1.0, scale=(0.9, 1.1)):
    """Small random rotations, shifts and scalings of a (B, 1, H, W) ink batch, on the batch's device."""
    torch = require("torch", "train")
    functional = require("torch.nn.functional", "train")
    batch, _, height, _ = ink.shape
    uniform = lambda low, high: low + (high - low) * torch.rand(batch, generator=generator)  # noqa: E731
    angle = torch.deg2rad(uniform(-max_degrees, max_degrees))
    factor = 1.0 / uniform(*scale)
    shift = 2.0 * max_shift_px / height
    cos, sin = torch.cos(angle) * factor, torch.sin(angle) * factor
    theta = torch.stack(
        [
            torch.stack([cos, -sin, uniform(-shift, shift)], dim=1),
            torch.stack([sin, cos, uniform(-shift, shift)], dim=1),
        ],
        dim=1,
    ).to(ink)
    grid = functional.affine_grid(theta, list(ink.shape), align_corners=False)
    return functional.grid_sample(ink, grid, padding_mode="zeros", align_corners=False)
