"""What CPU this is, for cache keys and reports: its name and the instruction sets a kernel may use.

Compiled models and tuning results are only valid on the CPU they were made on; an AMD EPYC without
AVX-512 and a Xeon with AMX pick different kernels from the same file.
"""

import hashlib
import platform
from functools import lru_cache

ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8", "amx_tile",
             "avx512_fp16", "asimd", "sve")  # the ones CPU inference libraries dispatch on


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    found = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                found.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return found


def cpu_name() -> str:
    info = _cpuinfo()
    return info.get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> tuple[str, ...]:
    """The inference-relevant ISA extensions this CPU reports (x86 ``flags`` or Arm ``Features``)."""
    info = _cpuinfo()
    reported = set((info.get("flags") or info.get("Features") or "").split())
    return tuple(flag for flag in ISA_FLAGS if flag in reported)


def cpu_identity() -> str:
    """Name, architecture and ISA flags in one short string; equal on two machines that run the same kernels."""
    text = f"{cpu_name()}|{platform.machine()}|{' '.join(cpu_flags())}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]
