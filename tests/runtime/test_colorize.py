"""The shipped colorizer through the runtime: its bars on a held-out photo, any size, lightness kept."""

import numpy as np
import pytest
from extras import needs

from visionrt import model_zoo, runtime

pytestmark = pytest.mark.skipif(not model_zoo.installed("colorizer"),
                                reason="colorizer is not in the zoo yet")


@pytest.fixture(scope="module")
def model():
    needs("skimage")  # the held-out photos ship in scikit-image
    return runtime.load("colorizer", backend="onnxruntime:cpu")


def test_bars_on_held_out_photos_through_the_runtime(model):
    from visionrt.runtime.tasks.color import colorfulness
    from visionrt.train import photos
    from visionrt.train.denoiser import psnr

    gains, ratios = [], []
    for photo in photos.load_split("test").values():
        colored = np.asarray(model.colorize(photo), np.float32) / 255.0  # only the photo's lightness is used
        gains.append(psnr(photo, colored) - psnr(photo, _gray_baseline(photo)))
        ratios.append(colorfulness(colored) / colorfulness(photo))
    assert np.mean(gains) >= 0.5
    assert np.mean(ratios) >= 0.5


def _gray_baseline(photo):
    """The issue's baseline: the true lightness with ab = 0."""
    from visionrt.runtime.tasks.color import lab_to_rgb, rgb_to_lab

    lab = rgb_to_lab(photo)
    lab[..., 1:] = 0.0
    return lab_to_rgb(lab)


def test_output_keeps_size_and_lightness(model):
    from visionrt.runtime.tasks.color import rgb_to_lab
    from visionrt.train import photos

    photo = photos.load_photo("coffee")[:101, :203]
    out = model.colorize(photo)
    assert out.size == (203, 101) and out.mode == "RGB"
    lightness_in = rgb_to_lab(photo)[..., 0]
    lightness_out = rgb_to_lab(np.asarray(out, np.float32) / 255.0)[..., 0]
    assert np.abs(lightness_in - lightness_out).mean() < 2.0  # L units of 100 (gamut clipping moves a few)
