"""What ``visionrt engines`` shows: each cached TensorRT engine, what it was built for, and whether it can
ever be served again.

The cache never serves a wrong engine (every lookup checks the full key), but entries it can no longer serve
stay on disk: engines of a model re-exported since, of a TensorRT since upgraded, of another GPU sharing the
folder, and ONNX Runtime's TensorRT provider caches of other versions. Listing them, and pruning them on
request, is this module's job.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from visionrt.errors import BackendUnavailableError, VisionRTError
from visionrt.hashing import sha256_file
from visionrt.runtime.engine_cache import EngineCache, Entry, host_platform


def installed_onnx(repository: Path) -> dict[str, set[str]]:
    """model -> sha256 of the ONNX files ``runtime.load`` would use from ``repository`` (the newest version
    folder of each model): the files an engine must have been built from to be served."""
    from visionrt.runtime import source

    found = {}
    for folder in sorted(repository.iterdir()) if repository.is_dir() else []:
        try:
            files = source.resolve(folder).files
        except VisionRTError:
            continue  # not a model folder
        found[folder.name] = {sha256_file(path) for path in files.values()}
    return found


def this_machine() -> tuple[dict | None, str]:
    """(this machine's TensorRT version, GPU, compute capability and platform, or None; a line saying which)."""
    from visionrt.runtime.backends import tensorrt as trt_backend

    try:
        version, gpu, capability = trt_backend.environment()
    except (ImportError, BackendUnavailableError) as exc:
        return None, f"not checked against this machine ({exc})"
    machine = {"tensorrt": version, "gpu": gpu, "compute_capability": capability, "platform": host_platform()}
    return machine, f"checked against this machine: {machine_text(machine)}"


def machine_text(machine: dict) -> str:
    sm = str(machine.get("compute_capability")).replace(".", "")
    return f"TensorRT {machine.get('tensorrt')} on {machine.get('gpu')} (sm_{sm}, {machine.get('platform')})"


def describe(entry: Entry) -> str:
    """One entry in three lines: its file, what it was built for, and whether it can be served (if not, why)."""
    key = entry.key
    built_for = (f"{key.get('model')} {key.get('precision')}, {key.get('build', {}).get('typing', '?')} typing, "
                 f"{machine_text(key)}, built {entry.built_at}, {entry.nbytes / 1e6:.1f} MB")
    verdict = "stale: " + "; ".join(entry.problems) if entry.problems else "servable"
    return f"{entry.engine.name}\n    {built_for}\n    {verdict}"


@dataclass
class ProviderCache:
    """One folder of ONNX Runtime's TensorRT provider caches (one per ONNX Runtime and TensorRT pair)."""

    folder: Path
    nbytes: int
    stale: bool | None  # None: the provider cannot run here, so which folder it would use is unknown


def current_provider_cache() -> Path | None:
    """The folder ONNX Runtime's TensorRT provider would use on this machine; None where it cannot run here."""
    from visionrt.runtime.backends import ort as ort_backend

    try:
        ort = ort_backend._onnxruntime()
    except ImportError:
        return None
    return None if ort_backend.provider_missing(ort, "tensorrt") else ort_backend.tensorrt_cache_folder(ort)


def provider_caches(root: Path, current: Path | None) -> list[ProviderCache]:
    from visionrt.runtime.backends.ort import PROVIDER_CACHE

    base = root / PROVIDER_CACHE
    folders = sorted(f for f in base.iterdir() if f.is_dir()) if base.is_dir() else []
    return [ProviderCache(f, sum(p.stat().st_size for p in f.rglob("*") if p.is_file()),
                          None if current is None else f != current) for f in folders]


def describe_provider_cache(cache: ProviderCache) -> str:
    verdict = {None: "not checked: ONNX Runtime's TensorRT provider cannot run here", False: "in use here",
               True: "stale: another ONNX Runtime or TensorRT version"}[cache.stale]
    return f"{cache.folder.parent.name}/{cache.folder.name} (ONNX Runtime TensorRT provider cache, " \
           f"{cache.nbytes / 1e6:.1f} MB)\n    {verdict}"


def prune(cache: EngineCache, entries: list[Entry], folders: list[ProviderCache]) -> str:
    """Delete the stale engines and provider cache folders; return a line saying what went."""
    stale, stale_folders = [e for e in entries if e.problems], [f for f in folders if f.stale]
    for entry in stale:
        cache.remove(entry)
    for folder in stale_folders:
        shutil.rmtree(folder.folder)
    freed = sum(e.nbytes for e in stale) + sum(f.nbytes for f in stale_folders)
    return (f"pruned {len(stale)} stale engines and {len(stale_folders)} provider cache folders, "
            f"{freed / 1e6:.1f} MB freed")
