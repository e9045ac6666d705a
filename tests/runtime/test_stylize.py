"""The shipped style network through the runtime: its bar on a held-out photo, and any image size."""

import numpy as np
import pytest

from visionrt import model_zoo, runtime

pytestmark = pytest.mark.skipif(not model_zoo.installed("style"),
                                reason="style is not in the zoo yet")


@pytest.fixture(scope="module")
def model():
    return runtime.load("style", backend="onnxruntime:cpu")


def test_runtime_output_meets_the_bar_in_the_judge_network_on_a_held_out_photo(model):
    pytest.importorskip("torch")
    from visionrt.train import photos, style, style_loss

    photo = photos.load_photo("chelsea")
    pixels = np.round(photo * 255).astype(np.uint8)  # as a user's 8-bit file holds it
    out = np.asarray(model.stylize(pixels), np.float32) / 255.0
    figures = style_loss.judge(photo, out, style.load_style(None)[0])
    recorded = model.metadata.metrics["per_photo"]["chelsea"]
    assert figures["gap_closed"] == pytest.approx(recorded["gap_closed"], abs=0.02)
    assert figures["luminance_ssim"] == pytest.approx(recorded["luminance_ssim"], abs=0.02)


def test_the_recorded_verdict_follows_the_figures_of_every_held_out_photo(model):
    metrics = model.metadata.metrics
    every_photo = all(p["gap_closed"] >= 0.5 and p["luminance_ssim"] >= 0.5 for p in metrics["per_photo"].values())
    assert metrics["meets_bars"] is every_photo
    assert {"people", "objects", "landscape", "indoor"} <= set(metrics["by_kind"])


def test_the_content_survives_on_average_over_the_held_out_photos(model):
    assert model.metadata.metrics["luminance_ssim"] >= 0.5


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_sizes_that_are_not_multiples_of_4_come_back_at_their_size(precision):
    model = runtime.load("style", backend="onnxruntime:cpu", precision=precision)
    image = (np.random.default_rng(0).random((101, 203, 3)) * 255).astype(np.uint8)
    out = model.stylize(image)
    assert out.size == (203, 101) and out.mode == "RGB"
