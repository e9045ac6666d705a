"""One loaded model serves several threads at once with the same results as serial calls."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from visionrt import model_zoo, runtime


@pytest.fixture(params=["onnxruntime:cpu", "tensorrt"])
def backend(request) -> str:
    """ONNX Runtime (one shared session), and native TensorRT (a context per thread) on the emulated
    TensorRT of tests/support, where sharing one context between threads makes this test fail."""
    if request.param == "tensorrt":
        from visionrt.export.tensorrt_build import build_engine
        from visionrt.runtime.engine_cache import EngineCache

        request.getfixturevalue("emulated_tensorrt")
        build_engine(model_zoo.model_dir("digits") / "1" / "model_fp16.onnx", EngineCache())
    return request.param


def test_concurrent_run_matches_serial(backend):
    model = runtime.load("digits", backend=backend)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((int(rng.integers(1, 9)), 1, 8, 8)).astype(np.float32) for _ in range(64)]
    serial = [model.run(b) for b in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(model.run, batches))
    for expected, got in zip(serial, concurrent):
        np.testing.assert_array_equal(expected, got)


def test_concurrent_classify_matches_serial(digits_test_split):
    model = runtime.load("digits", backend="onnxruntime:cpu")
    images = list(digits_test_split[0][:96])
    serial = [model.classify(image) for image in images]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(model.classify, images))
    assert concurrent == serial
