"""The CUDA layer under the TensorRT backend, run for real on a GPU (cuda-python, no TensorRT, no torch).

TensorRT itself cannot be installed here, so the engine is a stand-in whose "kernel" is a device-to-device
copy enqueued on the backend's stream. Everything around it is the backend's own code: per-thread streams
and buffers, pinned host copies, tensor addresses, and CUDA graph capture and replay.
"""

import threading

import numpy as np
import pytest

from visionrt.runtime.backends import cuda
from visionrt.runtime.backends.tensorrt import TensorRTBackend
from visionrt.runtime.profiles import Profile

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def rt():
    runtime = pytest.importorskip("cuda.bindings.runtime", reason="cuda-python is not installed (extra: gpu)")
    error, count = runtime.cudaGetDeviceCount()
    if int(error) != 0 or count < 1:
        pytest.skip(f"no CUDA GPU visible to cuda-python ({error}, {count} devices)")
    return runtime


class CopyContext:
    """A stand-in execution context: its 'engine' copies input ``x`` to output ``y`` on the given stream."""

    def __init__(self, rt):
        self.rt, self.shape, self.addresses, self.executions = rt, None, {}, 0

    def set_input_shape(self, name, shape):
        self.shape = tuple(shape)

    def get_tensor_shape(self, name):
        return self.shape

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def execute_async_v3(self, stream):
        self.executions += 1
        nbytes = cuda.buffer_bytes(self.shape, np.float32)
        cuda.check(self.rt.cudaMemcpyAsync(self.addresses["y"], self.addresses["x"], nbytes,
                                           self.rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copy")
        return True


class CopyEngine:
    def __init__(self, rt):
        self.rt, self.contexts = rt, []

    def create_execution_context(self):
        self.contexts.append(CopyContext(self.rt))
        return self.contexts[-1]


def copy_backend(rt, cuda_graph: bool) -> TensorRTBackend:
    """The backend's run path around a stand-in engine (the constructor alone needs TensorRT)."""
    backend = object.__new__(TensorRTBackend)
    backend._engine, backend._cuda_graph, backend._local = CopyEngine(rt), cuda_graph, threading.local()
    backend._input_names, backend._output_names = ["x"], ["y"]
    backend._dtypes = {"x": np.dtype(np.float32), "y": np.dtype(np.float32)}
    backend._profile = Profile("x", (1, 3, 4, 4), (2, 3, 8, 8), (4, 3, 16, 16))
    return backend


def test_device_info_names_the_gpu_and_its_compute_capability(rt):
    name, capability = cuda.device_info()
    major, minor = capability.split(".")
    assert name and "\x00" not in name
    assert int(major) >= 3 and minor.isdigit()


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64])
def test_buffers_round_trip_through_the_device(rt, dtype):
    stream = cuda.new_stream()
    shape = (3, 1, 17, 23)  # odd sizes: nothing may rely on page or vector alignment
    source, target = cuda.Buffers(shape, dtype), cuda.Buffers(shape, dtype)
    values = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    source.host[...] = values
    source.to_device(stream)
    cuda.check(rt.cudaMemcpyAsync(target.device, source.device, source.nbytes,
                                  rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copy")
    target.to_host(stream)
    cuda.synchronize(stream)
    np.testing.assert_array_equal(target.host, values)
    source.free(), target.free()
    source.free()  # freeing twice is harmless


def test_failed_cuda_call_names_the_call(rt):
    with pytest.raises(Exception, match="cudaMalloc"):
        cuda.check(rt.cudaMalloc(1 << 60), "cudaMalloc")


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_backend_run_returns_each_calls_own_output(rt, cuda_graph):
    backend = copy_backend(rt, cuda_graph)
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 8, 8)] * 4 + [(4, 3, 16, 16)] * 3 + [(1, 3, 8, 8)]:
        x = rng.standard_normal(shape).astype(np.float32)
        (y,) = backend.run({"x": x})
        np.testing.assert_array_equal(y, x)
    state = backend._local.state
    assert len(state["buffers"]) == 2  # one buffer set per shape, reused after
    assert set(state["graphs"]) == ({((1, 3, 8, 8),), ((4, 3, 16, 16),)} if cuda_graph else set())
    # With graphs, the engine is enqueued directly once and captured once per shape; replays skip it.
    assert backend._engine.contexts[0].executions == (4 if cuda_graph else 8)


def test_backend_refuses_shapes_outside_the_profile_before_touching_the_gpu(rt):
    backend = copy_backend(rt, cuda_graph=False)
    with pytest.raises(Exception, match="axis 2 is 32, outside the engine's profile"):
        backend.run({"x": np.zeros((1, 3, 32, 32), np.float32)})
    assert getattr(backend._local, "state", None) is None


def test_each_thread_gets_its_own_context_stream_and_buffers(rt):
    backend = copy_backend(rt, cuda_graph=True)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((2, 3, 8, 8)).astype(np.float32) for _ in range(8)]
    results, streams, failures = {}, {}, []

    def work(index):
        try:
            for _ in range(5):
                (y,) = backend.run({"x": inputs[index]})
                results.setdefault(index, []).append(y)
            streams[index] = int(backend._local.state["stream"])
        except Exception as exc:  # reported below: an assertion in a thread would be lost
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(backend._engine.contexts) == len(inputs) == len(set(streams.values()))
    for index, outputs in results.items():
        for y in outputs:
            np.testing.assert_array_equal(y, inputs[index])
