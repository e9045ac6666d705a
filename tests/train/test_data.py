"""The digits split and augmentation."""

import numpy as np
import pytest

from visionrt.train import data


@pytest.fixture(scope="module")
def dataset():
    return data.load_digits_data(seed=0)


def test_split_is_disjoint_complete_and_sized(dataset):
    split = dataset.split
    everything = np.concatenate([split.train, split.val, split.test])
    assert len(everything) == len(np.unique(everything)) == 1797
    assert len(split.test) == 360 and len(split.val) == 288


def test_split_is_stratified(dataset):
    overall = np.bincount(dataset.labels) / len(dataset.labels)
    for name in ("train", "val", "test"):
        share = np.bincount(dataset.part(name)[1], minlength=10) / len(getattr(dataset.split, name))
        assert np.abs(share - overall).max() < 0.01, name


def test_split_depends_only_on_the_seed(dataset):
    again, other = data.load_digits_data(seed=0), data.load_digits_data(seed=1)
    np.testing.assert_array_equal(again.split.test, dataset.split.test)
    assert not np.array_equal(other.split.test, dataset.split.test)


def test_ink_is_in_unit_range_and_nchw(dataset):
    assert dataset.ink.shape == (1797, 1, 8, 8) and dataset.ink.dtype == np.float32
    assert dataset.ink.min() == 0.0 and dataset.ink.max() == 1.0


def test_augmentation_keeps_shape_and_moves_pixels(dataset):
    torch = pytest.importorskip("torch")
    ink = torch.from_numpy(dataset.ink[:16])
    moved = data.random_affine(ink, torch.Generator().manual_seed(0))
    assert moved.shape == ink.shape
    assert not torch.allclose(moved, ink)
    assert float(moved.min()) >= -1e-6 and float(moved.max()) <= 1.0 + 1e-6
    # small transforms: the digit stays mostly where it was
    assert float(torch.nn.functional.cosine_similarity(moved.flatten(1), ink.flatten(1)).mean()) > 0.6
