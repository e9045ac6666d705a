"""The CUDA layer and engine runner under the TensorRT backend (cuda-python, no TensorRT, no torch).

TensorRT itself cannot be installed here, so the engine is a stand-in whose "kernel" is a device-to-device
copy enqueued on the runner's stream. Everything around it is the backend's own code: per-thread contexts,
streams and buffers, pinned host copies, tensor addresses, and CUDA graph capture and replay. Each test runs
on the emulated CUDA runtime (tests/support/emulated_cuda.py) everywhere, and again on a GPU where there is one.
"""

import threading

import numpy as np
import pytest

from visionrt.errors import BackendUnavailableError
from visionrt.runtime.backends import cuda
from visionrt.runtime.backends.engine_runner import EngineRunner
from visionrt.runtime.profiles import Profile


class CopyContext:
    """A stand-in execution context: its 'engine' copies input ``x`` to output ``y`` on the given stream.
    ``fail`` names the call that returns False, as TensorRT's do: "shape" or "enqueue"."""

    def __init__(self, rt, fail: str | None):
        self.rt, self.fail, self.shape, self.addresses, self.executions = rt, fail, None, {}, 0

    def set_input_shape(self, name, shape):
        self.shape = tuple(shape)
        return self.fail != "shape"

    def get_tensor_shape(self, name):
        return self.shape

    def set_tensor_address(self, name, address):
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream):
        self.executions += 1
        if self.fail == "enqueue":
            return False
        nbytes = cuda.buffer_bytes(self.shape, np.float32)
        cuda.check(self.rt.cudaMemcpyAsync(self.addresses["y"], self.addresses["x"], nbytes,
                                           self.rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copy")
        return True


class CopyEngine:
    def __init__(self, rt, fail: str | None = None):
        self.rt, self.fail, self.contexts = rt, fail, []

    def create_execution_context(self):
        if self.fail == "context":
            return None  # TensorRT's answer when, say, the GPU has no memory left for one
        self.contexts.append(CopyContext(self.rt, self.fail))
        return self.contexts[-1]


def copy_runner(cuda_runtime, cuda_graph: bool, fail: str | None = None) -> EngineRunner:
    """The TensorRT backend's runner around a stand-in engine that copies ``x`` (float32) to ``y``."""
    float32 = np.dtype(np.float32)
    return EngineRunner(CopyEngine(cuda_runtime, fail), ["x"], ["y"], {"x": float32, "y": float32},
                        Profile("x", (1, 3, 4, 4), (2, 3, 8, 8), (4, 3, 16, 16)), cuda_graph)


def test_device_info_names_the_gpu_and_its_compute_capability(cuda_runtime):
    name, capability = cuda.device_info()
    major, minor = capability.split(".")
    assert name and "\x00" not in name
    assert int(major) >= 3 and minor.isdigit()


def test_cuda_driver_and_runtime_versions_read_as_major_dot_minor(cuda_runtime):
    versions = cuda.cuda_versions()
    assert set(versions) == {"driver", "runtime"}
    for text in versions.values():
        major, minor = text.split(".")
        assert int(major) >= 11 and minor.isdigit()


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64])
def test_buffers_round_trip_through_the_device(cuda_runtime, dtype):
    stream = cuda.new_stream()
    shape = (3, 1, 17, 23)  # odd sizes: nothing may rely on page or vector alignment
    source, target = cuda.Buffers(shape, dtype), cuda.Buffers(shape, dtype)
    values = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    source.host[...] = values
    source.to_device(stream)
    cuda.check(cuda_runtime.cudaMemcpyAsync(target.device, source.device, source.nbytes,
                                            cuda_runtime.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copy")
    target.to_host(stream)
    cuda.synchronize(stream)
    np.testing.assert_array_equal(target.host, values)
    source.free(), target.free()
    source.free()  # freeing twice is harmless


def test_failed_cuda_call_names_the_call(cuda_runtime):
    with pytest.raises(Exception, match="cudaMalloc"):
        cuda.check(cuda_runtime.cudaMalloc(1 << 60), "cudaMalloc")


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_runner_returns_each_calls_own_output(cuda_runtime, cuda_graph):
    runner = copy_runner(cuda_runtime, cuda_graph)
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 8, 8)] * 4 + [(4, 3, 16, 16)] * 3 + [(1, 3, 8, 8)]:
        x = rng.standard_normal(shape).astype(np.float32)
        (y,) = runner.run({"x": x})
        np.testing.assert_array_equal(y, x)
    state = runner.state()
    assert len(state.buffers) == 2  # one buffer set per shape, reused after
    assert set(state.graphs) == ({((1, 3, 8, 8),), ((4, 3, 16, 16),)} if cuda_graph else set())
    # With graphs, the engine is enqueued directly once and captured once per shape; replays skip it.
    assert runner.engine.contexts[0].executions == (4 if cuda_graph else 8)


def test_runner_refuses_shapes_outside_the_profile_before_touching_the_gpu(cuda_runtime):
    runner = copy_runner(cuda_runtime, cuda_graph=False)
    with pytest.raises(Exception, match="axis 2 is 32, outside the engine's profile"):
        runner.run({"x": np.zeros((1, 3, 32, 32), np.float32)})
    assert runner.engine.contexts == []  # no context, stream or buffer was made


def test_a_shape_tensorrt_refuses_is_named_before_anything_is_enqueued(cuda_runtime):
    runner = copy_runner(cuda_runtime, cuda_graph=False, fail="shape")
    with pytest.raises(BackendUnavailableError, match=r"TensorRT refused input shape \(1, 3, 8, 8\) for 'x'"):
        runner.run({"x": np.ones((1, 3, 8, 8), np.float32)})
    assert runner.state().context.executions == 0 and runner.state().buffers == {}


def test_a_thread_that_gets_no_execution_context_is_told_so(cuda_runtime):
    runner = copy_runner(cuda_runtime, cuda_graph=False, fail="context")
    with pytest.raises(BackendUnavailableError, match="TensorRT could not create an execution context"):
        runner.run({"x": np.ones((1, 3, 8, 8), np.float32)})


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_a_failed_enqueue_names_the_shapes_and_leaves_the_stream_usable(cuda_runtime, cuda_graph):
    runner = copy_runner(cuda_runtime, cuda_graph, fail="enqueue")
    x = np.ones((1, 3, 8, 8), np.float32)
    runner.state().seen.add(((1, 3, 8, 8),))  # with graphs, the next call is the capturing one
    with pytest.raises(BackendUnavailableError, match=r"execute_async_v3 failed.*\(1, 3, 8, 8\)"):
        runner.run({"x": x})
    cuda.synchronize(runner.state().stream)  # a capture left open would make this fail
    assert runner.state().graphs == {}


def test_each_thread_gets_its_own_context_stream_and_buffers(cuda_runtime):
    runner = copy_runner(cuda_runtime, cuda_graph=True)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(8)]
    results, streams, failures = {}, {}, []

    def work(index):
        try:
            for _ in range(5):
                (y,) = runner.run({"x": inputs[index]})
                results.setdefault(index, []).append(y)
            streams[index] = int(runner.state().stream)
        except Exception as exc:  # reported below: an assertion in a thread would be lost
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(runner.engine.contexts) == len(inputs) == len(set(streams.values()))
    for index, outputs in results.items():
        for y in outputs:
            np.testing.assert_array_equal(y, inputs[index])
