"""Native TensorRT backend, written against TensorRT 10's and 11's Python API (named I/O tensors,
``set_tensor_address``, ``execute_async_v3``) and cuda-python for memory; no torch.

Engines come only from the engine cache (``visionrt export MODEL --trt`` builds them): loading never builds
lazily, so a server never stalls its first request on a build. Running, one execution context per calling
thread, is ``engine_runner``'s job.
UNVERIFIED: TensorRT cannot be installed on the machines this project is built and tested on; the logic around it is tested, and
the run path (engine_runner: buffers, copies, per-thread streams, graph capture) ran on an H100 around a
stand-in engine (tests/runtime/test_cuda_memory.py). This module's calls into TensorRT never ran.
"""

from pathlib import Path

import numpy as np

from visionrt import artifact as artifacts
from visionrt.artifact import Artifact, ArtifactMetadata
from visionrt.errors import ArtifactError, BackendUnavailableError
from visionrt.hashing import sha256_file
from visionrt.extras import require
from visionrt.runtime.backends import cuda
from visionrt.runtime.backends.base import Backend, Target, TensorSpec, register
from visionrt.runtime.backends.engine_runner import EngineRunner
from visionrt.runtime.engine_cache import EngineCache, EngineKey, host_platform
from visionrt.runtime.profiles import Profile, profile_from_metadata

SPEED_RANK = 5  # ahead of every ONNX Runtime provider
DEFAULT_WORKSPACE = 1 << 30


def tensorrt():
    return require("tensorrt", "gpu")


def zoo_metadata(found: Artifact) -> ArtifactMetadata:
    """The artifact's metadata, which an engine's key, profile and FP32 pins come from."""
    if found.metadata is None:
        raise ArtifactError(f"{found.path} has no visionrt metadata; TensorRT engines are built for visionrt artifacts")
    return found.metadata


def read_onnx_metadata(path: Path) -> ArtifactMetadata:
    """The visionrt metadata of an ONNX file, read and validated by the artifact contract."""
    return zoo_metadata(artifacts.read(path))


def typing_for(version: str) -> str:
    """How an engine gets its precisions under this TensorRT version: "weak" before 11 (the builder's FP16
    flag, with FP32 pins it is told to obey), "strong" from 11, which removed the FP16 flag and per-layer
    precisions: every tensor then has the type the ONNX graph gives it."""
    major = version.split(".")[0]
    return "strong" if major.isdigit() and int(major) >= 11 else "weak"


def build_source(path: Path, meta: ArtifactMetadata, typing: str = "weak") -> tuple[Path, str]:
    """(ONNX to build from, precision). Weakly typed FP16 engines build from the FP32 ONNX with the FP16 flag
    set, so that TensorRT picks kernels itself and honours the FP32 pins (the FP16 ONNX's pins travel as
    names). Strongly typed ones build from the FP16 ONNX itself: its FP32 islands are explicit Casts, the
    form NVIDIA's AutoCast produces for TensorRT 11."""
    precision, fp32_file = meta.precision, path.parent / artifacts.FILES["fp32"]
    if precision == "fp16" and typing == "weak" and fp32_file.is_file():
        return fp32_file, "fp16"
    return path, precision


def engine_key(meta: ArtifactMetadata, source: Path, precision: str, build: dict, environment: tuple[str, str, str]) -> EngineKey:
    profile = profile_from_metadata(meta)
    trt_version, gpu, capability = environment
    return EngineKey(model=meta.model, onnx_sha256=sha256_file(source), precision=precision,
                     profile={"input": profile.input_name, "min": list(profile.min), "opt": list(profile.opt),
                              "max": list(profile.max)},
                     build=build, tensorrt=trt_version, gpu=gpu, compute_capability=capability,
                     platform=host_platform())


def build_options(meta: ArtifactMetadata, precision: str, typing: str = "weak", workspace: int = DEFAULT_WORKSPACE) -> dict:
    """The builder settings that shape an engine, as recorded in its key. ``fp32_nodes``: the nodes that stay
    FP32 in an FP16 engine, pinned by name (weak typing) or typed FP32 in the graph (strong)."""
    kept = sorted(meta.fp32_nodes) if precision == "fp16" else []
    return {"typing": typing, "workspace_bytes": workspace, "fp32_nodes": kept, "optimization_level": 3}


def resolve(path: Path, meta: ArtifactMetadata, environment: tuple[str, str, str], workspace: int = DEFAULT_WORKSPACE):
    """(source ONNX, precision, build options, cache key) of the engine for ``path`` on this machine: what
    the builder builds and the backend looks up, derived the same way for both."""
    # An INT8 file is explicitly quantized (QDQ): NVIDIA builds those strongly typed, with no precision flags,
    # on 10.x as on 11, so the Q/DQ nodes alone decide where 8 bits are used.
    typing = "strong" if meta.precision == "int8" else typing_for(environment[0])
    source, precision = build_source(Path(path), meta, typing)
    build = build_options(meta, precision, typing, workspace)
    return source, precision, build, engine_key(meta, source, precision, build, environment)


def environment() -> tuple[str, str, str]:
    """(TensorRT version, GPU name, compute capability) of this machine."""
    return (tensorrt().__version__, *cuda.device_info())


def refused_engine(engine: Path, built_under: dict, here: dict, model: str) -> str:
    """What to say when TensorRT will not deserialize an engine whose key matches this machine: the CUDA
    versions it was built under, where they differ from this machine's, are the likeliest cause."""
    differs = [f"CUDA {part} {built_under[part]} when built, {here.get(part)} here"
               for part in ("driver", "runtime") if part in built_under and built_under[part] != here.get(part)]
    cause = f" ({'; '.join(differs)})" if differs else " (see TensorRT's log above)"
    return f"TensorRT could not deserialize {engine}{cause}; delete it and rebuild: `visionrt export {model} --trt`"


@register
class TensorRTBackend(Backend):
    name = "tensorrt"

    @classmethod
    def targets(cls) -> list[Target]:
        try:
            version, gpu, capability = environment()
        except (ImportError, BackendUnavailableError) as exc:
            return [Target(cls.name, "cuda", False, f"native TensorRT unavailable: {exc}", SPEED_RANK)]
        return [Target(cls.name, "cuda", True, f"TensorRT {version} on {gpu} (sm_{capability.replace('.', '')})",
                       SPEED_RANK)]

    def __init__(self, artifact: Artifact, target: Target, threads: int | None = None,
                 cache: EngineCache | None = None, cuda_graph: bool = False):
        trt = tensorrt()
        self._meta, path = zoo_metadata(artifact), artifact.path
        _, precision, _, key = resolve(path, self._meta, environment())
        cache = cache or EngineCache()
        found = cache.lookup(key)
        if found.engine is None:
            raise BackendUnavailableError(
                f"no TensorRT engine for {self._meta.model} ({precision}) fits this machine: {found.explain()}. "
                f"Build it explicitly with `visionrt export {self._meta.model} --trt`")
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._engine = trt.Runtime(self._logger).deserialize_cuda_engine(found.engine.read_bytes())
        if self._engine is None:
            raise ArtifactError(refused_engine(found.engine, cache.sidecar(found.engine).get("cuda", {}),
                                               cuda.cuda_versions(), self._meta.model))
        self._path, self._engine_path, self._key, self._precision = Path(path), found.engine, key, precision
        self._profile = profile_from_metadata(self._meta)
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        is_input = {n: self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self._runner = EngineRunner(self._engine, [n for n in names if is_input[n]],
                                    [n for n in names if not is_input[n]],
                                    {n: np.dtype(trt.nptype(self._engine.get_tensor_dtype(n))) for n in names},
                                    self._profile, cuda_graph)

    def _specs(self, names: list[str]) -> list[TensorSpec]:
        return [TensorSpec(n, tuple(None if d == -1 else d for d in self._engine.get_tensor_shape(n)),
                           self._runner.dtypes[n].name) for n in names]

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._specs(self._runner.input_names)

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._specs(self._runner.output_names)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._runner.run(feeds)

    @property
    def profile(self) -> Profile:
        return self._profile

    def describe(self) -> dict:
        return {"backend": self.name, "device": "cuda", "provider": f"TensorRT {self._key.tensorrt}",
                "gpu": f"{self._key.gpu} (sm_{self._key.compute_capability.replace('.', '')})",
                "engine": str(self._engine_path), "engine_key": self._key.digest()[:16],
                "profile": self._key.profile, "typing": self._key.build["typing"],
                "precision_pins": self._key.build["fp32_nodes"],
                "cuda_graph": self._runner.cuda_graph, "file": str(self._path),
                "thread_safe": "yes: one execution context, stream and buffer set per calling thread"}
