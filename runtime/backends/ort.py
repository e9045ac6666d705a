"""ONNX Runtime backend, with whichever execution providers this installation has.

``InferenceSession.run`` is documented as safe to call concurrently, so one session serves every thread.
ONNX Runtime quietly drops to the CPU when a GPU provider fails to initialise; we check the providers the
session actually got and refuse rather than time or serve the wrong device.
"""

from pathlib import Path

import numpy as np

from visionrt.artifact import Artifact, ArtifactMetadata
from visionrt.errors import ArtifactError, BackendUnavailableError
from visionrt.extras import require
from visionrt.runtime.backends.base import Backend, TensorSpec, Target, register
from visionrt.runtime.backends.ort_providers import gpu_provider_problem, loaded_tensorrt_version
from visionrt.runtime.profiles import Profile, profile_from_metadata, provider_shapes

PROVIDERS = {  # device -> (provider, speed rank, what to install when it is missing)
    "tensorrt": ("TensorrtExecutionProvider", 10, "onnxruntime-gpu with TensorRT libraries (visionrt[gpu])"),
    "cuda": ("CUDAExecutionProvider", 20, "onnxruntime-gpu and a CUDA GPU (visionrt[gpu])"),
    "cpu": ("CPUExecutionProvider", 90, "onnxruntime"),
}
PROVIDER_CACHE = "onnxruntime-trt"  # under the engine cache: one folder per (ONNX Runtime, TensorRT) pair
# Worker threads that spin after a call keep their cores busy for a few hundred ms: on 2 cores, three other
# sessions' spinning made an eager PyTorch call 14x slower (0.7 -> 9.7 ms, vae_decoder batch 256), and a
# process serving several models has several sessions. Alone, spinning saved 10 us of 84 on digits and
# nothing measurable on style or the denoiser, so visionrt's sessions wait without spinning unless told
# (`spin=True`, which `visionrt tune` may find fastest for a tiny model called in a tight loop).
SPINNING = "session.intra_op.allow_spinning"
PROFILE_HINT = ("\nvisionrt gave the TensorRT provider the artifact's input shape range (trt_profile_*_shapes); "
                "with any range given, ONNX Runtime wants one for every dynamic input of every TensorRT subgraph. "
                "Pass ranges covering them as provider_options={'trt_profile_min_shapes': ..., "
                "'trt_profile_opt_shapes': ..., 'trt_profile_max_shapes': ...}")
ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
             "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int16)": "int16", "tensor(int8)": "int8",
             "tensor(uint8)": "uint8", "tensor(uint16)": "uint16", "tensor(bool)": "bool"}  # what numpy can hold


def _onnxruntime():
    return require("onnxruntime", None)


def provider_missing(ort, device: str) -> str | None:
    """Why ``device``'s provider cannot run with this onnxruntime, naming what to install; None if it can.
    A GPU provider must be in the build and its library must load (see ort_providers)."""
    provider, _, install = PROVIDERS[device]
    if provider not in ort.get_available_providers():
        return f"{provider} is not in this onnxruntime {ort.__version__} build; install {install}"
    if device == "cpu":
        return None
    problem = gpu_provider_problem(ort, device)
    return f"{provider} is in onnxruntime {ort.__version__} but {problem}; install {install}" if problem else None


def default_provider_options(device: str, ort) -> dict:
    """TensorRT EP: FP16 with engine and timing caches under the visionrt cache, so that a restart does not
    rebuild. ONNX Runtime names its cached engines by graph, precision and GPU architecture, not by its own
    or TensorRT's version, so each (ONNX Runtime, TensorRT) pair gets its own folder: after an upgrade the
    provider builds afresh instead of meeting an engine another TensorRT built. CUDA EP: defaults."""
    if device != "tensorrt":
        return {}
    folder = tensorrt_cache_folder(ort)
    return {"trt_fp16_enable": True, "trt_engine_cache_enable": True, "trt_engine_cache_path": str(folder),
            "trt_timing_cache_enable": True, "trt_timing_cache_path": str(folder)}


def tensorrt_cache_folder(ort) -> Path:
    """Where the TensorRT provider keeps its engines and timing caches for this ONNX Runtime and TensorRT."""
    from visionrt.runtime.engine_cache import default_root

    tensorrt = loaded_tensorrt_version() or "unknown"
    return default_root() / PROVIDER_CACHE / f"ort{ort.__version__}-trt-{tensorrt}"


def disabled_optimizers(artifact: Artifact, target: Target) -> list[str]:
    """Graph optimizers to switch off for this file on this device, each for a known crash.

    ONNX Runtime 1.32's NCHWc layout transformer segfaults while creating a CPU session for FP16 graphs with
    FP32 islands (our FP16 digit reader, whose LSTM and LogSoftmax stay FP32). Only graphs that hold FP16
    tensors lose it on the CPU, decided from the graph, not the metadata, so that a user's file without our
    metadata (or a damaged one) is guarded too; they are never the CPU's default (precision "auto" is FP32
    there): the CPU provider runs most of an FP16 graph's ops in FP32 behind inserted Casts anyway.
    """
    return ["NchwcTransformer"] if target.device == "cpu" and artifact.float16 else []


def tensorrt_profile(meta: ArtifactMetadata | None, target: Target) -> Profile | None:
    """For the TensorRT provider, the shape range the artifact declares (as the native engine's), so that
    the provider builds one engine for it instead of one per new shape; None elsewhere or without one."""
    if target.device != "tensorrt" or meta is None:
        return None
    try:
        return profile_from_metadata(meta)
    except ArtifactError:
        return None


@register
class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    @classmethod
    def targets(cls) -> list[Target]:
        try:
            ort = _onnxruntime()
        except ImportError as exc:
            return [Target(cls.name, device, False, str(exc), rank) for device, (_, rank, _) in PROVIDERS.items()]
        found = []
        for device, (provider, rank, _) in PROVIDERS.items():
            problem = provider_missing(ort, device)
            found.append(Target(cls.name, device, problem is None,
                                problem or f"{provider} is available (onnxruntime {ort.__version__})", rank))
        return found

    def __init__(self, artifact: Artifact, target: Target, threads: int | None = None,
                 provider_options: dict[str, str] | None = None, spin: bool = False):
        """provider_options: the GPU provider's own options (ONNX Runtime's names), over visionrt's defaults.
        spin: let idle worker threads spin between calls (see SPINNING)."""
        ort = _onnxruntime()
        provider = PROVIDERS[target.device][0]
        problem = provider_missing(ort, target.device)
        if problem:
            raise BackendUnavailableError(f"onnxruntime:{target.device} cannot run here: {problem}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.add_session_config_entry(SPINNING, "1" if spin else "0")
        path = artifact.path
        self._disabled, self._profile = disabled_optimizers(artifact, target), tensorrt_profile(artifact.metadata, target)
        profile = provider_shapes(self._profile) if self._profile else {}
        if set(profile) & set(provider_options or {}):
            self._profile = None  # the caller's own range: the provider checks it
        chosen = {**default_provider_options(target.device, ort), **profile, **(provider_options or {})}
        providers = [(provider, chosen), "CPUExecutionProvider"] if provider != "CPUExecutionProvider" else [provider]
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=providers,
                                                 disabled_optimizers=self._disabled)
        except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf/... types
            asked = f" with {provider} options {provider_options}" if provider_options else ""
            hint = PROFILE_HINT if self._profile is not None and "profile" in str(exc).lower() else ""
            raise ArtifactError(f"onnxruntime cannot load {path}{asked}: {exc}{hint}") from exc
        got = self._session.get_providers()
        if got[0] != provider:
            raise BackendUnavailableError(
                f"onnxruntime was asked for {provider} but the session runs on {got[0]} "
                f"(the provider failed to initialise; check CUDA/TensorRT libraries). Refusing to fall back silently."
            )
        self._target, self._path, self._threads = target, Path(path), threads

    @staticmethod
    def _specs(values) -> list[TensorSpec]:
        return [TensorSpec(v.name, tuple(d if isinstance(d, int) else None for d in v.shape),
                           ORT_TYPES.get(v.type, v.type)) for v in values]

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._specs(self._session.get_inputs())

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._specs(self._session.get_outputs())

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self._profile is not None:  # the TensorRT provider refuses shapes outside it, in its own words
            self._profile.check(feeds[self._profile.input_name].shape)
        # None (all outputs, in graph order) is markedly faster than naming them: ~29 vs ~45 us per call.
        return self._session.run(None, feeds)

    @property
    def profile(self) -> Profile | None:
        """The shape range the TensorRT provider was given from the artifact's metadata (None elsewhere)."""
        return self._profile

    @property
    def ort_device(self) -> str:
        """Where this session's inputs and outputs live when bound: "cuda" for the GPU providers, else "cpu"."""
        return "cpu" if self._target.device == "cpu" else "cuda"

    def to_device(self, array: np.ndarray):
        """An ``onnxruntime.OrtValue`` holding ``array`` on this session's device (one host-to-device copy).
        Feed it to :meth:`run_bound` as often as you like: it is not copied again."""
        return _onnxruntime().OrtValue.ortvalue_from_numpy(np.ascontiguousarray(array), self.ort_device, 0)

    def run_bound(self, feeds: dict, keep_on_device: bool = False) -> list:
        """Run with IO binding. Inputs that are OrtValues stay where they are; numpy inputs are copied to the
        device once. Outputs are allocated on the device and returned as OrtValues (``keep_on_device``, for
        chaining models without a round trip through the host) or copied to numpy. A binding is created per
        call: an IO binding is mutable state, so sharing one between threads would mix their tensors."""
        if self._profile is not None:
            value = feeds[self._profile.input_name]
            self._profile.check(value.shape if isinstance(value, np.ndarray) else tuple(value.shape()))
        binding = self._session.io_binding()
        for name, value in feeds.items():
            binding.bind_ortvalue_input(name, self.to_device(value) if isinstance(value, np.ndarray) else value)
        for spec in self.outputs:
            binding.bind_output(spec.name, self.ort_device)
        self._session.run_with_iobinding(binding)
        return binding.get_outputs() if keep_on_device else binding.copy_outputs_to_cpu()

    @property
    def session(self):
        """The underlying ``onnxruntime.InferenceSession`` (the benchmark times it bare)."""
        return self._session

    def describe(self) -> dict:
        ort = _onnxruntime()
        options = self._session.get_session_options()
        return {
            "backend": self.name,
            "device": self._target.device,
            "provider": self._session.get_providers()[0],
            "providers": self._session.get_providers(),
            "provider_options": self._session.get_provider_options().get(self._session.get_providers()[0], {}),
            "onnxruntime_version": ort.__version__,
            "intra_op_threads": options.intra_op_num_threads or "default (one per physical core)",
            "threads_spin": options.get_session_config_entry(SPINNING) != "0",
            "disabled_optimizers": self._disabled,
            "shape_profile": ({"min": self._profile.min, "opt": self._profile.opt, "max": self._profile.max}
                              if self._profile else None),
            "file": str(self._path),
            "thread_safe": "yes: one InferenceSession, whose run() ONNX Runtime documents as thread-safe",
        }
