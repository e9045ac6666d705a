"""The TensorRT engine cache: one entry per (model, ONNX bytes, precision, profile, build options,
TensorRT version, GPU, platform), checked before any engine is deserialized.

Engines do not move between TensorRT versions or GPU architectures, and a stale or shared cache entry is
the most common way to serve the wrong model. So every entry has a sidecar JSON holding the full key it was
built for and the artifact's metadata; a lookup compares that key with this machine's and, when an entry of
the same model does not fit, says exactly what differs.
"""

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from visionrt import atomic
from visionrt.artifact import ArtifactMetadata
from visionrt.errors import ArtifactError
from visionrt.hashing import sha256_file


@dataclass(frozen=True)
class EngineKey:
    model: str
    onnx_sha256: str  # of the ONNX file the engine is built from: two models never share an entry
    precision: str  # "fp16" (FP16 compute, build["fp32_nodes"] kept FP32) or "fp32"
    profile: dict  # {"input", "min", "opt", "max"}
    build: dict  # builder options that change the engine: typing, workspace, FP32 nodes, optimization level
    tensorrt: str  # TensorRT version
    gpu: str  # device name
    compute_capability: str  # e.g. "9.0"
    platform: str  # OS and CPU, e.g. "Linux-x86_64": engines do not move between platforms either

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def filename(self) -> str:
        sm = self.compute_capability.replace(".", "")
        return f"{self.model}-{self.precision}-sm{sm}-trt{self.tensorrt}-{self.digest()[:16]}.engine"


def host_platform() -> str:
    return f"{platform.system()}-{platform.machine()}"


def machine_differences(built: dict, here: dict) -> list[str]:
    """What differs between the machine an engine was built on and ``here`` (a key's or a machine's
    ``platform``, ``tensorrt``, ``gpu`` and ``compute_capability``), in words."""
    found = []
    if built.get("platform") != here["platform"]:
        found.append(f"built on {built.get('platform')}, this machine is {here['platform']}")
    if built.get("tensorrt") != here["tensorrt"] or built.get("compute_capability") != here["compute_capability"]:
        found.append(f"built with TensorRT {built.get('tensorrt')} for sm_{_sm(built.get('compute_capability'))} "
                     f"({built.get('gpu')}), this machine has TensorRT {here['tensorrt']} and "
                     f"sm_{_sm(here['compute_capability'])} ({here['gpu']})")
    elif built.get("gpu") != here["gpu"]:
        found.append(f"built on {built.get('gpu')}, this machine has {here['gpu']} (same architecture)")
    return found


def differences(built: dict, here: EngineKey) -> list[str]:
    """What differs between the key an engine was built for and this machine's key, in words."""
    found = machine_differences(built, asdict(here))
    if built.get("onnx_sha256") != here.onnx_sha256:
        found.append(f"built from a different ONNX file (sha256 {str(built.get('onnx_sha256'))[:12]}..., "
                     f"this one is {here.onnx_sha256[:12]}...)")
    for name in ("precision", "profile", "build"):
        if built.get(name) != getattr(here, name):
            found.append(f"{name} differs: engine {json.dumps(built.get(name), sort_keys=True)}, "
                         f"requested {json.dumps(getattr(here, name), sort_keys=True)}")
    return found


def _sm(capability) -> str:
    return str(capability).replace(".", "") if capability else "?"


@dataclass
class Entry:
    """One cached engine as ``visionrt engines`` shows it, with every reason it can never be served."""

    engine: Path
    key: dict
    built_at: str
    nbytes: int
    problems: list[str]


@dataclass
class Lookup:
    engine: Path | None  # the matching engine, or None
    rejected: dict[str, list[str]] = field(default_factory=dict)  # other entries of this model: why not

    def explain(self) -> str:
        if not self.rejected:
            return "no engine has been built for this model here yet"
        return "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in self.rejected.items())


def default_root() -> Path:
    return Path(os.environ.get("VISIONRT_ENGINE_CACHE", Path.home() / ".cache" / "visionrt" / "engines"))


class EngineCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()

    def path_for(self, key: EngineKey) -> Path:
        return self.root / key.filename()

    def lookup(self, key: EngineKey) -> Lookup:
        """The engine built for exactly ``key`` (its file intact), or why each entry of this model is not it."""
        found = Lookup(None)
        for sidecar in sorted(self.root.glob(f"{key.model}-*.engine.json")) if self.root.is_dir() else []:
            record = json.loads(sidecar.read_text())
            engine = sidecar.with_suffix("")
            if record.get("digest") == key.digest():
                if not engine.is_file() or sha256_file(engine) != record.get("engine_sha256"):
                    found.rejected[engine.name] = ["engine file missing or corrupt (sha256 mismatch)"]
                    continue
                return Lookup(engine, found.rejected)
            found.rejected[engine.name] = differences(record.get("key", {}), key) or ["key digest differs"]
        return found

    def store(self, key: EngineKey, engine: bytes, metadata: ArtifactMetadata, build_seconds: float,
              cuda_versions: dict | None = None) -> Path:
        """Write the engine and its sidecar atomically (engine first, so a sidecar always has its engine).
        ``cuda_versions`` (driver and runtime) are recorded, not keyed: TensorRT does not tie an engine to
        them, but when one will not deserialize they are the first thing to compare."""
        path = self.path_for(key)
        atomic.write_bytes(path, engine)
        sidecar = {"key": asdict(key), "digest": key.digest(), "engine_sha256": hashlib.sha256(engine).hexdigest(),
                   "metadata": metadata.to_dict(), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "build_seconds": round(build_seconds, 2), "cuda": cuda_versions or {}}
        atomic.write_text(path.with_name(path.name + ".json"), json.dumps(sidecar, indent=1, sort_keys=True))
        return path

    def entries(self, installed: dict[str, set[str]], machine: dict | None) -> list[Entry]:
        """Every engine in the cache, each with the reasons it can never be served: a missing or corrupt file,
        an ONNX file no longer installed (``installed``: model -> sha256 of its installed ONNX files; a model
        re-exported since the build leaves its old engines behind; models absent from ``installed`` may live
        in another repository and are not judged), and, where ``machine`` is known, another machine's
        TensorRT, GPU or platform."""
        found = []
        for sidecar in sorted(self.root.glob("*.engine.json")) if self.root.is_dir() else []:
            record, engine = json.loads(sidecar.read_text()), sidecar.with_suffix("")
            key, problems = record.get("key", {}), []
            if not engine.is_file() or sha256_file(engine) != record.get("engine_sha256"):
                problems.append("engine file missing or corrupt")
            if key.get("model") in installed and key.get("onnx_sha256") not in installed[key.get("model")]:
                problems.append("built from an ONNX file that is no longer installed (re-exported since?)")
            problems += machine_differences(key, machine) if machine else []
            found.append(Entry(engine, key, record.get("built_at", "?"),
                               engine.stat().st_size if engine.is_file() else 0, problems))
        return found

    def remove(self, entry: Entry) -> None:
        """Delete an entry: its sidecar first, so that no sidecar is ever left pointing at a missing engine."""
        entry.engine.with_name(entry.engine.name + ".json").unlink(missing_ok=True)
        entry.engine.unlink(missing_ok=True)

    def metadata(self, engine: Path) -> ArtifactMetadata:
        """The metadata of the artifact the engine was built from, through the artifact contract's reader."""
        return ArtifactMetadata.from_dict(self.sidecar(engine).get("metadata"), f"engine sidecar of {engine}")

    def sidecar(self, engine: Path) -> dict:
        sidecar = engine.with_name(engine.name + ".json")
        if not sidecar.is_file():
            raise ArtifactError(f"engine {engine} has no sidecar {sidecar.name}; rebuild it")
        return json.loads(sidecar.read_text())
