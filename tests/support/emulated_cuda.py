"""An emulated CUDA runtime, so the TensorRT backend's run path is exercised on every machine, not only GPUs.

Installed by the ``emulated_cuda`` fixture (tests/conftest.py) in place of cuda-python's runtime module.
"""

import ctypes
import threading
from types import SimpleNamespace

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

    def __init__(self, memory_bytes: int = 1 << 30, gpu: str = "Emulated GPU", capability: tuple = (9, 0)):
        self.gpu, self.capability = gpu, capability  # what cudaGetDeviceProperties reports; tests may change it
        self.driver_version = self.runtime_version = 13000  # CUDA 13.0, as cudaDriverGetVersion encodes it
        self.memory_bytes, self.device, self.pinned = memory_bytes, {}, {}  # address -> block / byte count
        self.capturing, self.sticky_error = {}, 0  # stream -> recorded copies; an error a copy hit while running
        self._lock, self._streams = threading.Lock(), iter(range(1, 1 << 30))  # stream 0 is CUDA's legacy one

    def cudaGetDeviceCount(self):
        return 0, 1

    def cudaDriverGetVersion(self):
        return 0, self.driver_version

    def cudaRuntimeGetVersion(self):
        return 0, self.runtime_version

    def cudaGetDeviceProperties(self, device):
        major, minor = self.capability
        return 0, SimpleNamespace(name=self.gpu.encode() + b"\x00" * 3, major=major, minor=minor)  # C string

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
            return self.holds(dst, nbytes, dst_device) and self.holds(src, nbytes, src_device)

        def copy():
            if valid():
                ctypes.memmove(dst, src, nbytes)
            else:
                self.sticky_error = ILLEGAL_ADDRESS

        if not valid():
            return (INVALID_VALUE,)
        self.submit(stream, copy)
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

        self.submit(stream, replay)
        return (0,)

    def holds(self, address, nbytes, on_device: bool) -> bool:
        """Whether [address, address + nbytes) lies inside one live device allocation (or pinned host block)."""
        with self._lock:
            spans = ((start, ctypes.sizeof(block)) for start, block in self.device.items()) if on_device \
                else self.pinned.items()
            return any(start <= address and address + nbytes <= start + size for start, size in spans)

    def submit(self, stream, work) -> None:
        """Run ``work`` now, or record it into the graph being captured on ``stream``."""
        if stream in self.capturing:
            self.capturing[stream].append(work)
        else:
            work()
