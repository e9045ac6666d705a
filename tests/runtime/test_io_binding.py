"""ONNX Runtime IO binding: inputs and outputs that stay on the session's device between calls.

On this CPU build the device is the host, which is enough to check the binding logic and the results; on a
GPU build the same calls keep tensors in CUDA memory (the benchmark's device-resident rows use them)."""

import threading

import numpy as np
import pytest

from visionrt import runtime


@pytest.fixture(scope="module")
def model(shipped_dir):
    return runtime.load(shipped_dir, backend="onnxruntime:cpu")


def test_bound_run_matches_the_plain_run(model, digits_test_split):
    from visionrt.runtime.tasks import images

    batch = images.preprocess(list(digits_test_split[0][:16]), model.metadata.preprocessing)
    session = model.backend
    assert session.ort_device == "cpu"
    resident = session.to_device(batch)
    bound = session.run_bound({model.inputs[0].name: resident})
    assert np.allclose(bound[0], model.run(batch), atol=1e-6)


def test_outputs_can_stay_on_the_device_and_numpy_inputs_are_accepted(model):
    batch = np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32)
    values = model.backend.run_bound({model.inputs[0].name: batch}, keep_on_device=True)
    assert values[0].device_name().lower() == "cpu" and values[0].shape() == [3, 10]
    assert np.allclose(values[0].numpy(), model.run(batch), atol=1e-6)


def test_concurrent_bound_runs_keep_their_own_tensors(model):
    rng = np.random.default_rng(1)
    batches = [rng.random((4, 1, 8, 8)).astype(np.float32) for _ in range(8)]
    expected = [model.run(b) for b in batches]
    got = [None] * len(batches)

    def work(i):
        for _ in range(20):
            got[i] = model.backend.run_bound({model.inputs[0].name: batches[i]})[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.allclose(g, e, atol=1e-6) for g, e in zip(got, expected))
