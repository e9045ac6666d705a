"""Whether a GPU execution provider that onnxruntime lists can start on this machine.

onnxruntime-gpu lists the CUDA and TensorRT providers whether or not their libraries are present, and a
session whose provider cannot start runs on the CPU instead. Listing alone would make ``auto`` pick the
TensorRT provider on every machine with onnxruntime-gpu and no TensorRT (the usual case), and then fail to
load. ONNX Runtime loads each provider from its own shared library, whose dependencies (cuDNN, cuBLAS,
libnvinfer, the driver's libcuda) the dynamic loader resolves; loading that library here, the way ONNX
Runtime does, finds a missing dependency up front and names it. Nothing here initialises CUDA, so a
process that forks workers after listing backends keeps a usable GPU in each of them.
"""

import contextlib
import ctypes
import functools
import importlib
import io
import os
from pathlib import Path


def library_file(provider: str) -> str:
    """File name of an ONNX Runtime provider library ("cuda", "tensorrt", or "shared", their common base)."""
    return f"onnxruntime_providers_{provider}.dll" if os.name == "nt" else f"libonnxruntime_providers_{provider}.so"


@functools.cache
def preload_nvidia_libraries(ort) -> str:
    """CUDA and cuDNN installed as pip wheels (``onnxruntime-gpu[cuda,cudnn]``) sit in site-packages, off the
    loader's path; ``onnxruntime.preload_dlls`` (1.21 and later) loads them. It prints what it could not load:
    returned, so that the caller can quote it instead of it landing on stdout."""
    if not hasattr(ort, "preload_dlls"):
        return ""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            ort.preload_dlls()
        except Exception as exc:  # a broken preload is only a hint; the library load below decides
            print(f"onnxruntime.preload_dlls failed: {exc}")
    return " ".join(printed.getvalue().split())


def load_provider_library(capi: Path, provider: str) -> str | None:
    """None when ``provider``'s library and everything it links load; else the loader's message."""
    try:
        ctypes.CDLL(str(capi / library_file("shared")), mode=ctypes.RTLD_GLOBAL)
        ctypes.CDLL(str(capi / library_file(provider)))
    except OSError as exc:
        return str(exc)
    return None


@functools.cache
def gpu_provider_problem(ort, provider: str) -> str | None:
    """Why ``provider`` ("cuda" or "tensorrt") of the onnxruntime module ``ort`` cannot start here, or None.

    TensorRT's pip wheel puts libnvinfer beside its Python module and loads it on import, so where the first
    load fails and that module imports, the load is tried again. Cached per process: the dynamic loader
    neither forgets a library it loaded nor finds one later that it could not find now.
    """
    preload_note = preload_nvidia_libraries(ort)
    capi = Path(ort.__file__).parent / "capi"
    problem = load_provider_library(capi, provider)
    if problem and provider == "tensorrt":
        with contextlib.suppress(ImportError):
            importlib.import_module("tensorrt")
            problem = load_provider_library(capi, provider)
    if problem is None:
        return None
    return f"its library does not load: {problem}" + (f" (onnxruntime.preload_dlls: {preload_note})"
                                                       if preload_note else "")


def loaded_library(name: str, maps: str) -> Path | None:
    """The file of the shared library ``name`` (``libnvinfer.so``, say: any version suffix) that the process
    whose ``/proc/<pid>/maps`` text is ``maps`` has mapped, or None."""
    for line in maps.splitlines():
        fields = line.split()
        if len(fields) >= 6 and Path(fields[-1]).name.startswith(name):
            return Path(fields[-1])
    return None


def tensorrt_version_text(encoded: int) -> str:
    """TensorRT's ``getInferLibVersion()`` in words: major * 10000 + minor * 100 + patch since TensorRT 10."""
    return f"{encoded // 10000}.{encoded // 100 % 100}.{encoded % 100}"


def loaded_tensorrt_version() -> str | None:
    """Version of the libnvinfer that loading ONNX Runtime's TensorRT provider mapped into this process, from
    the library's own ``getInferLibVersion()``; None where it is not mapped or cannot say (not Linux, say)."""
    try:
        path = loaded_library("libnvinfer.so", Path("/proc/self/maps").read_text())
        return tensorrt_version_text(int(ctypes.CDLL(str(path)).getInferLibVersion())) if path else None
    except (OSError, AttributeError):
        return None
