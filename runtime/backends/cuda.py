"""A thin layer over cuda-python's runtime API: device buffers, pinned host buffers, streams, copies.

Only what the TensorRT backend needs, with every CUDA error turned into an exception that names the call.
This module imports cuda-python lazily; nothing here runs without a GPU.
"""

import numpy as np

from visionrt.errors import BackendUnavailableError
from visionrt.extras import require


def cudart():
    """cuda-python's runtime module (``cuda.bindings.runtime`` in current releases, ``cuda.cudart`` before)."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        runtime = require("cuda.cudart", "gpu")
    return runtime


def check(result, call: str):
    """cuda-python returns (error, *values): raise on error, else return the values (one, or a tuple)."""
    error, *values = result if isinstance(result, tuple) else (result,)
    if int(error) != 0:
        raise BackendUnavailableError(f"CUDA call {call} failed: {error}")
    return values[0] if len(values) == 1 else tuple(values)


def buffer_bytes(shape: tuple[int, ...], dtype) -> int:
    """Bytes for one tensor of ``shape`` and ``dtype``; zero-size shapes still get one element."""
    return max(1, int(np.prod(shape, dtype=np.int64))) * np.dtype(dtype).itemsize


def device_info() -> tuple[str, str]:
    """(GPU name, compute capability "major.minor") of the current device."""
    rt = cudart()
    count = check(rt.cudaGetDeviceCount(), "cudaGetDeviceCount")
    if count < 1:
        raise BackendUnavailableError("no CUDA device is visible")
    props = check(rt.cudaGetDeviceProperties(0), "cudaGetDeviceProperties")
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return name.rstrip("\x00"), f"{props.major}.{props.minor}"


def cuda_versions() -> dict[str, str]:
    """The CUDA driver's and runtime's versions ("12.4"), as cudaDriverGetVersion/cudaRuntimeGetVersion give
    them (1000 * major + 10 * minor)."""
    rt = cudart()

    def text(encoded: int) -> str:
        return f"{encoded // 1000}.{encoded % 1000 // 10}"

    return {"driver": text(check(rt.cudaDriverGetVersion(), "cudaDriverGetVersion")),
            "runtime": text(check(rt.cudaRuntimeGetVersion(), "cudaRuntimeGetVersion"))}


class Buffers:
    """Device and pinned host memory for one tensor shape; freed explicitly or when collected."""

    def __init__(self, shape: tuple[int, ...], dtype):
        rt = cudart()
        self.shape, self.dtype, self.nbytes = tuple(shape), np.dtype(dtype), buffer_bytes(shape, dtype)
        self.device = check(rt.cudaMalloc(self.nbytes), "cudaMalloc")
        self.host = np.empty(max(1, int(np.prod(shape))), self.dtype)  # page-locked below, for async copies
        self._host_ptr = self.host.ctypes.data
        check(rt.cudaHostRegister(self._host_ptr, self.nbytes, rt.cudaHostRegisterDefault), "cudaHostRegister")
        self.host = self.host[: int(np.prod(shape))].reshape(shape)

    def to_device(self, stream) -> None:
        rt = cudart()
        check(rt.cudaMemcpyAsync(self.device, self._host_ptr, self.nbytes,
                                 rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync H2D")

    def to_host(self, stream) -> None:
        rt = cudart()
        check(rt.cudaMemcpyAsync(self._host_ptr, self.device, self.nbytes,
                                 rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync D2H")

    def free(self) -> None:
        rt = cudart()
        if self.device is not None:
            rt.cudaFree(self.device)
            rt.cudaHostUnregister(self._host_ptr)
            self.device = None

    def __del__(self):
        try:
            self.free()
        except Exception:  # interpreter shutdown: the CUDA context may already be gone
            pass


def new_stream():
    return check(cudart().cudaStreamCreate(), "cudaStreamCreate")


def synchronize(stream) -> None:
    check(cudart().cudaStreamSynchronize(stream), "cudaStreamSynchronize")
