"""The shipped face swap through the runtime: its bar on unseen renders, both directions, any input size."""

import numpy as np
import pytest

from visionrt import model_zoo, runtime
from visionrt.train import faces
from visionrt.train.denoiser import psnr as _psnr

pytestmark = pytest.mark.skipif(not all(model_zoo.installed(f"faceswap_to_{d}") for d in ("a", "b")),
                                reason="faceswap is not in the zoo yet")


@pytest.fixture(scope="module")
def model():
    return runtime.load("faceswap", backend="onnxruntime:cpu")


@pytest.fixture(scope="module")
def unseen():
    return faces.render_set(24, seed=31337)  # draws neither training (0, 1), validation (500) nor test (999) used


def test_swap_to_b_beats_copying_by_the_bar_on_unseen_draws(model, unseen):
    sources = [np.round(face.transpose(1, 2, 0) * 255).astype(np.uint8) for face in unseen.a]  # 8-bit files
    swapped = [np.asarray(image, np.float32) / 255.0 for image in model.swap(sources, to="b")]
    truth = unseen.b.transpose(0, 2, 3, 1)
    gain = np.mean([_psnr(t, s) for t, s in zip(truth, swapped)]) - np.mean([_psnr(t, s.astype(np.float32) / 255.0)
                                                                            for t, s in zip(truth, sources)])
    assert gain >= 8.0
    assert all(_psnr(t, s) > _psnr(src.astype(np.float32) / 255.0, s) for t, s, src in zip(truth, swapped, sources))


def test_swap_to_a_moves_b_towards_a(model, unseen):
    swapped = np.stack([np.asarray(image, np.float32) / 255.0
                        for image in model.swap(list(unseen.b.transpose(0, 2, 3, 1)), to="a")])
    truth, sources = unseen.a.transpose(0, 2, 3, 1), unseen.b.transpose(0, 2, 3, 1)
    assert _psnr(truth, swapped) > _psnr(truth, sources) + 3.0


def test_recorded_metrics_meet_the_bar():
    recorded = runtime.load("faceswap_to_b", backend="onnxruntime:cpu").metadata.metrics["a_to_b"]
    assert recorded["gain_over_copy_db"] >= 8.0 and recorded["closer_to_target_share"] == 1.0


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_any_input_size_comes_back_at_its_size(precision):
    model = runtime.load("faceswap", backend="onnxruntime:cpu", precision=precision)
    out = model.swap(np.zeros((100, 80, 3), np.uint8), to="a")
    assert out.size == (80, 100)
