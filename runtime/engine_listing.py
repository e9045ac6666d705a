"""What ``visionrt engines`` shows: each cached TensorRT engine, what it was built for, and whether it can
ever be served again.

The cache never serves a wrong engine (every lookup checks the full key), but entries it can no longer serve
stay on disk: engines of a model re-exported since, of a TensorRT since upgraded, of another GPU sharing the
folder. Listing them, and pruning them on request, is this module's job.
"""

from pathlib import Path

from visionrt.errors import BackendUnavailableError, VisionRTError
from visionrt.hashing import sha256_file
from visionrt.runtime.engine_cache import Entry, host_platform


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
