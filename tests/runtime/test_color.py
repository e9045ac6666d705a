"""Lab conversion and colourfulness, checked against scikit-image and by construction."""

import numpy as np
import pytest

from visionrt.runtime.tasks.color import colorfulness, lab_to_rgb, rgb_to_lab


def test_rgb_to_lab_matches_scikit_image_and_round_trips():
    color = pytest.importorskip("skimage.color")
    rgb = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(rgb_to_lab(rgb), color.rgb2lab(rgb), atol=2e-3)
    np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4)


def test_gray_has_no_chroma_and_no_colourfulness():
    gray = np.full((4, 4, 3), 0.5, np.float32)
    assert np.abs(rgb_to_lab(gray)[..., 1:]).max() < 1e-2
    assert colorfulness(gray) == 0.0
    red = np.dstack([np.ones((4, 4)), np.zeros((4, 4)), np.zeros((4, 4))])  # rg = 255, yb = 127.5 everywhere
    assert colorfulness(red) == pytest.approx(0.3 * np.hypot(255.0, 127.5))
