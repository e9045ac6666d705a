"""One loaded model serves several threads at once with the same results as serial calls."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from visionrt import runtime


def test_concurrent_run_matches_serial():
    model = runtime.load("digits", backend="onnxruntime:cpu")
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
