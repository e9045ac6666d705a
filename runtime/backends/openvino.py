"""OpenVINO backend on the CPU: the same ONNX files the zoo ships, compiled by OpenVINO's CPU plugin.

Precision is stated, then read back. OpenVINO's default on a CPU with BF16 (AMX, AVX512-BF16) runs an FP32
model in BF16 without saying so; here FP32 is forced with ``INFERENCE_PRECISION_HINT`` and what the compiled
model executes at is read from it (the hint it kept and every compute node's runtime precision), and a load
whose execution differs from the request is refused. An infer request is not safe to share between threads,
so each calling thread gets its own from one compiled model. Compiled models are cached on disk per
OpenVINO version, CPU and precision (OpenVINO keys the entry by the model's bytes), so a second process
starts from the cache instead of compiling again.
"""

import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

from visionrt.artifact import Artifact
from visionrt.errors import ArtifactError, BackendUnavailableError, UserInputError
from visionrt.extras import require
from visionrt.runtime.backends.base import Backend, Target, TensorSpec, register
from visionrt.runtime.machine import cpu_identity
from visionrt.runtime.profiles import Profile, profile_from_metadata

SPEED_RANK = 95  # after ONNX Runtime's CPU provider (90): on an AVX2 EPYC it measured slower on most zoo models;
# `visionrt tune` measures both on the machine at hand and `auto` then takes the winner
HINTS = {"fp32": "f32", "bf16": "bf16"}  # visionrt precision -> INFERENCE_PRECISION_HINT
OV_TYPES = {"f32": "float32", "f16": "float16", "f64": "float64", "i64": "int64", "i32": "int32", "u8": "uint8",
            "i8": "int8", "boolean": "bool"}
FLOAT_TYPES = {"f32", "bf16", "f16"}
BOOKKEEPING = {"Input", "Output", "Const", "Reorder", "Reshape", "Concatenation", "Split", "Gather", "ShapeOf"}


def openvino():
    return require("openvino", "openvino")


def bf16_capable(core) -> bool:
    """Whether OpenVINO's CPU plugin computes BF16 natively here (AMX or AVX512-BF16); elsewhere it ignores
    the BF16 hint and runs FP32, or emulates BF16 slowly on AVX-512."""
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def engine_words(exc: Exception) -> str:
    """OpenVINO's message without its stack of "Exception from src/...cpp:N:" lines, which say where, not what."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("Exception from")]
    return " ".join(lines)[:1000] or str(exc)[:1000]


def cache_folder(ov, precision: str) -> Path:
    """Compiled models for this OpenVINO, CPU and precision. OpenVINO names its entries by a hash of the
    model's graph and weights and the device, but not (in 2026.4) by the precision hint, hence the folder."""
    from visionrt.runtime.engine_cache import default_root

    return default_root() / "openvino" / f"ov{ov.get_version().split('-')[0]}-cpu{cpu_identity()}-{precision}"


@register
class OpenVINOBackend(Backend):
    name = "openvino"

    @classmethod
    def targets(cls) -> list[Target]:
        try:
            ov = openvino()
            devices = ov.Core().available_devices
        except ImportError as exc:
            return [Target(cls.name, "cpu", False, str(exc), SPEED_RANK)]
        except RuntimeError as exc:
            return [Target(cls.name, "cpu", False, f"OpenVINO cannot list devices: {exc}", SPEED_RANK)]
        if "CPU" not in devices:
            return [Target(cls.name, "cpu", False, f"OpenVINO's CPU plugin is missing (devices: {devices})", SPEED_RANK)]
        return [Target(cls.name, "cpu", True, f"OpenVINO {ov.get_version().split('-')[0]} CPU plugin", SPEED_RANK)]

    def __init__(self, artifact: Artifact, target: Target, threads: int | None = None, precision: str = "fp32",
                 cache: bool = True):
        """precision: "fp32" (forced, whatever the CPU's default) or "bf16" (CPUs with native BF16 only);
        an FP16 file is decompressed to FP32 weights and run at "fp32". cache: read and write compiled models."""
        ov = openvino()
        core = ov.Core()
        if precision == "bf16" and not bf16_capable(core):
            raise BackendUnavailableError(
                f"precision bf16 needs a CPU with native BF16 (AMX or AVX512-BF16); this "
                f"{core.get_property('CPU', 'FULL_DEVICE_NAME')} has {core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES')}, "
                "where OpenVINO would run FP32 or emulate BF16: load precision='fp32'")
        if precision not in HINTS:
            raise UserInputError(f"OpenVINO runs precision fp32 or bf16, not {precision}")
        config = {"INFERENCE_PRECISION_HINT": HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        if cache:
            config["CACHE_DIR"] = str(cache_folder(ov, precision))
        self._profile = self._bounded_profile(artifact)
        started = time.perf_counter()
        try:
            model = core.read_model(str(artifact.path))
            if self._profile is not None:  # bounds let the plugin size its buffers; shapes outside are refused first
                model.reshape({self._profile.input_name: ov.PartialShape(
                    [ov.Dimension(low, high) for low, high in zip(self._profile.min, self._profile.max)])})
            self._compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError and its frontend's own exception types
            raise ArtifactError(f"OpenVINO cannot compile {artifact.path}: {engine_words(exc)}") from exc
        self._compile_seconds = time.perf_counter() - started
        self._requested, self._executes = HINTS[precision], self._read_back_precision(ov)
        if not self._executes_as_asked():
            raise BackendUnavailableError(f"OpenVINO was asked to run {artifact.path} at {self._requested} but compiled "
                                          f"it at {self._executes}; refusing to serve another precision than asked")
        self._path, self._threads, self._local = artifact.path, threads, threading.local()
        self._cpu = core.get_property("CPU", "FULL_DEVICE_NAME")
        named = {artifact.metadata.input.name, *artifact.metadata.outputs} if artifact.metadata else set()
        self._inputs = [self._spec(port, named) for port in self._compiled.inputs]
        self._outputs = [self._spec(port, named) for port in self._compiled.outputs]
        self._output_ports = list(self._compiled.outputs)

    @staticmethod
    def _bounded_profile(artifact: Artifact) -> Profile | None:
        if artifact.metadata is None:
            return None
        try:
            return profile_from_metadata(artifact.metadata)
        except ArtifactError:
            return None

    def _read_back_precision(self, ov) -> dict:
        """The precision the compiled model keeps as its hint, and the runtime precision of each compute node
        (convolutions, matrix products, normalizations; not inputs, constants and layout moves)."""
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        nodes = Counter()
        for op in self._compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            if info["layerType"].astype(str) not in BOOKKEEPING:
                nodes[info["runtimePrecision"].astype(str)] += 1
        return {"hint": hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint), "nodes": dict(nodes)}

    def _executes_as_asked(self) -> bool:
        """FP32: every compute node in f32. BF16: the hint kept and the compute in bf16, where OpenVINO's BF16 mode
        leaves some nodes in f32 by design (element-wise tails, reductions such as a log-softmax, the LSTM's
        state); those are counted in ``precision_executed``. Integer nodes (shape arithmetic) are no choice."""
        floats = set(self._executes["nodes"]) & FLOAT_TYPES
        if self._executes["hint"] != self._requested:
            return False
        return floats == {"f32"} if self._requested == "f32" else self._requested in floats and "f16" not in floats

    @staticmethod
    def _spec(port, named: set[str]) -> TensorSpec:
        """A port's spec under the ONNX graph's own name: a port holds every name its tensor has (an FP16 file's
        output is also its Cast node's output), and ``get_any_name`` may pick another."""
        shape = tuple(dim.get_length() if dim.is_static else None for dim in port.get_partial_shape())
        kind = port.get_element_type().get_type_name()
        known = sorted(set(port.get_names()) & named)
        return TensorSpec(known[0] if known else port.get_any_name(), shape, OV_TYPES.get(kind, kind))

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def _request(self):
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        if self._profile is not None:
            self._profile.check(feeds[self._profile.input_name].shape)
        request = self._request()
        request.infer(feeds, share_inputs=True)
        # Copies: the request's output buffers are overwritten by this thread's next call.
        return [request.get_tensor(port).data.copy() for port in self._output_ports]

    @property
    def profile(self) -> Profile | None:
        return self._profile

    @property
    def compiled_model(self):
        """The ``openvino.CompiledModel`` (the benchmark times it bare)."""
        return self._compiled

    def describe(self) -> dict:
        ov = openvino()
        return {
            "backend": self.name, "device": "cpu", "provider": f"OpenVINO {ov.get_version()} CPU plugin",
            "precision_requested": self._requested, "precision_executed": self._executes,
            "cpu": self._cpu,
            "inference_threads": self._compiled.get_property("INFERENCE_NUM_THREADS"),
            "streams": self._compiled.get_property("NUM_STREAMS"),
            "loaded_from_cache": bool(self._compiled.get_property("LOADED_FROM_CACHE")),
            "compile_seconds": round(self._compile_seconds, 3),
            "shape_profile": ({"min": self._profile.min, "max": self._profile.max} if self._profile else None),
            "file": str(self._path),
            "thread_safe": "yes: one compiled model, one infer request per calling thread",
        }
