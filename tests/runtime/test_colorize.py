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


def test_the_runtime_gives_the_figures_training_recorded_on_the_bundled_test_photos(model):
    from visionrt.train import held_out, photos

    recorded = model.metadata.metrics["per_photo"]
    for name, photo in photos.load_split("test").items():  # held out in the varied set too
        photo = held_out.at_side(photo)
        colored = np.asarray(model.colorize(photo), np.float32) / 255.0  # only the photo's lightness is used
        figures = held_out.colorizer_photo(colored, photo, held_out.gray_of(photo))
        assert figures["gain_over_gray_db"] == pytest.approx(recorded[name]["gain_over_gray_db"], abs=0.1), name
        assert figures["colorfulness_ratio"] == pytest.approx(recorded[name]["colorfulness_ratio"], abs=0.02), name


def test_recorded_figures_beat_gray_on_average_and_name_every_kind(model):
    metrics = model.metadata.metrics
    assert metrics["gain_over_gray_db"] >= 0.5
    assert metrics["worst_kind_gain_db"] == min(k["gain_over_gray_db"] for k in metrics["by_kind"].values())
    assert {"people", "objects", "landscape", "indoor"} <= set(metrics["by_kind"])
    assert metrics["meets_bars"] is (metrics["worst_kind_gain_db"] >= 0 and metrics["colorfulness_ratio"] >= 0.5)


def test_output_keeps_size_and_lightness(model):
    from visionrt.runtime.tasks.color import rgb_to_lab
    from visionrt.train import photos

    photo = photos.load_photo("coffee")[:101, :203]
    out = model.colorize(photo)
    assert out.size == (203, 101) and out.mode == "RGB"
    lightness_in = rgb_to_lab(photo)[..., 0]
    lightness_out = rgb_to_lab(np.asarray(out, np.float32) / 255.0)[..., 0]
    assert np.abs(lightness_in - lightness_out).mean() < 2.0  # L units of 100 (gamut clipping moves a few)
