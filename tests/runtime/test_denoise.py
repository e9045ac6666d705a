"""The shipped denoiser: its bar on a held-out photo through the runtime, and seamless tiling."""

import numpy as np
import pytest
from extras import needs

from visionrt import model_zoo, runtime

pytestmark = pytest.mark.skipif(not model_zoo.installed("denoiser"),
                                reason="denoiser is not in the zoo yet")


@pytest.fixture(scope="module")
def model():
    needs("skimage")  # the held-out photos ship in scikit-image
    return runtime.load("denoiser", backend="onnxruntime:cpu")


def test_runtime_beats_the_noisy_input_by_6_db_and_the_best_filter(model):
    from visionrt.train import denoiser

    clean, noisy = denoiser.noisy_photos("test", 2000)
    name = "chelsea"
    pixels = np.round(noisy[name] * 255).astype(np.uint8)  # as a user's 8-bit file would hold it
    out = np.asarray(model.denoise(pixels), dtype=np.float32) / 255.0
    gain = denoiser.psnr(clean[name], out) - denoiser.psnr(clean[name], noisy[name])
    assert gain >= 6.0
    recorded = model.metadata.metrics
    assert recorded["denoised_psnr_db"] > recorded["best_filter_psnr_db"]


def test_tiled_and_whole_denoising_agree_without_seams(model):
    from visionrt.train import denoiser

    _, noisy = denoiser.noisy_photos("test", 2000)
    image = noisy["coffee"]  # 400 x 600
    whole = np.asarray(model.denoise(image), dtype=np.float32)
    tiled_model = runtime.load("denoiser", backend="onnxruntime:cpu")
    tiled_model.tile, tiled_model.margin = 128, 32
    tiled = np.asarray(tiled_model.denoise(image), dtype=np.float32)
    assert np.abs(whole - tiled).max() <= 2.0  # at most 2 grey levels of 255 anywhere, seams included
