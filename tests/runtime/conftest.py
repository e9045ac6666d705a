"""An emulated CUDA runtime, so the TensorRT backend's run path is exercised on every machine, not only GPUs."""

import ctypes
import threading
from types import SimpleNamespace

import pytest

INVALID_VALUE, OUT_OF_MEMORY, ILLEGAL_ADDRESS, CAPTURE_UNSUPPORTED = 1, 2, 700, 900  # cudaError_t values


class EmulatedCudaRuntime:
    """Just enough of cuda-python's runtime API for ``visionrt.runtime.backends.cuda`` and the engine runner.

    Device memory is ordinary process memory, so a copy is a memmove between raw addresses. Each copy is
    checked when enqueued and again when it runs (device side inside one live allocation, host side inside
    registered pinned memory): a wrong size or address is refused at the call, and a replayed graph that
    touches freed memory fails the next synchronize, as on a GPU, instead of corrupting this process. Work
    on a stream runs at once, except while that stream is being captured: then it is recorded, and each
    launch of the instantiated graph replays it on the captured addresses, as a CUDA graph does.
    """

    class cudaMemcpyKind:  # noqa: N801 - cuda-python's spelling
        cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice = 1, 2, 3

    class cudaStreamCaptureMode:  # noqa: N801
        cudaStreamCaptureModeThreadLocal = 1

    cudaHostRegisterDefault = 0

    def __init__(self, memory_bytes: int = 1 << 30):
        self.memory_bytes, self.device, self.pinned = memory_bytes, {}, {}  # address -> block / byte count
        self.capturing, self.sticky_error = {}, 0  # stream -> recorded copies; an error a copy hit while running
        self._lock, self._streams = threading.Lock(), iter(range(1, 1 << 30))  # stream 0 is CUDA's legacy one

    def cudaGetDeviceCount(self):
        return 0, 1

    def cudaGetDeviceProperties(self, device):
        return 0, SimpleNamespace(name=b"Emulated GPU\x00\x00\x00", major=9, minor=0)

    def cudaMalloc(self, nbytes):
        if nbytes > self.memory_bytes:
            return OUT_OF_MEMORY, 0
        block = ctypes.create_string_buffer(nbytes)
        with self._lock:
            self.device[ctypes.addressof(block)] = block
        return 0, ctypes.addressof(block)

    def cudaFree(self, address):
        with self._lock:
            return (0,) if self.device.pop(address, None) is not None else (INVALID_VALUE,)

    def cudaHostRegister(self, address, nbytes, flags):
        with self._lock:
            self.pinned[address] = nbytes
        return (0,)

    def cudaHostUnregister(self, address):
        with self._lock:
            return (0,) if self.pinned.pop(address, None) is not None else (INVALID_VALUE,)

    def cudaStreamCreate(self):
        with self._lock:
            return 0, next(self._streams)

    def cudaMemcpyAsync(self, dst, src, nbytes, kind, stream):
        kinds = self.cudaMemcpyKind
        dst_device, src_device = {kinds.cudaMemcpyHostToDevice: (True, False),
                                  kinds.cudaMemcpyDeviceToHost: (False, True),
                                  kinds.cudaMemcpyDeviceToDevice: (True, True)}[kind]
        def valid():
            return self._holds(dst, nbytes, dst_device) and self._holds(src, nbytes, src_device)

        def copy():
            if valid():
                ctypes.memmove(dst, src, nbytes)
            else:
                self.sticky_error = ILLEGAL_ADDRESS

        if not valid():
            return (INVALID_VALUE,)
        self._submit(stream, copy)
        return (0,)

    def cudaStreamSynchronize(self, stream):
        return (CAPTURE_UNSUPPORTED,) if stream in self.capturing else (self.sticky_error,)

    def cudaStreamBeginCapture(self, stream, mode):
        self.capturing[stream] = []
        return (0,)

    def cudaStreamEndCapture(self, stream):
        return 0, tuple(self.capturing.pop(stream))

    def cudaGraphInstantiate(self, graph, flags):
        return 0, graph

    def cudaGraphLaunch(self, graph, stream):
        def replay():
            for copy in graph:
                copy()

        self._submit(stream, replay)
        return (0,)

    def _holds(self, address, nbytes, on_device: bool) -> bool:
        with self._lock:
            spans = ((start, ctypes.sizeof(block)) for start, block in self.device.items()) if on_device \
                else self.pinned.items()
            return any(start <= address and address + nbytes <= start + size for start, size in spans)

    def _submit(self, stream, work) -> None:
        if stream in self.capturing:
            self.capturing[stream].append(work)
        else:
            work()


@pytest.fixture(params=["emulated", pytest.param("gpu", marks=pytest.mark.gpu)])
def cuda_runtime(request, monkeypatch):
    """cuda-python's runtime module on a GPU, or the emulator installed in its place on the CPU."""
    if request.param == "emulated":
        from visionrt.runtime.backends import cuda

        emulator = EmulatedCudaRuntime()
        monkeypatch.setattr(cuda, "cudart", lambda: emulator)
        return emulator
    runtime = pytest.importorskip("cuda.bindings.runtime", reason="cuda-python is not installed (extra: gpu)")
    error, count = runtime.cudaGetDeviceCount()
    if int(error) != 0 or count < 1:
        pytest.skip(f"no CUDA GPU visible to cuda-python ({error}, {count} devices)")
    return runtime
