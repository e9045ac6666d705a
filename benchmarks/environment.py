"""An environment fingerprint for every report: what ran, where, with which libraries and threads."""

import os
import platform

from visionrt.runtime.machine import cpu_flags, cpu_name


def fingerprint() -> dict:
    import numpy
    import onnxruntime

    import visionrt

    found = {
        "visionrt": visionrt.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_flags": list(cpu_flags()),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_providers": onnxruntime.get_available_providers(),
        "env_threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ},
    }
    try:
        import torch
    except ImportError:
        return {**found, "torch": None}
    found.update({"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cuda": None})
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        found["cuda"] = {
            "gpu": props.name,
            "compute_capability": f"{props.major}.{props.minor}",
            "memory_gib": round(props.total_memory / 2**30, 1),
            "torch_cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "driver": _nvidia_driver(),
        }
    return found


def _nvidia_driver() -> str | None:
    try:
        with open("/proc/driver/nvidia/version") as version:
            return version.readline().strip()
    except OSError:
        return None
