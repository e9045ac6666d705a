"""Build a TensorRT engine from an installed zoo artifact into the engine cache (``visionrt export --trt``).

TensorRT 10 (weak typing): explicit-batch network from the ONNX parser, FP16 flag with precision
constraints set to *obey* (without it, per-layer precisions are silently ignored) and the FP32 pins.
TensorRT 11 removed weak typing, so there the network is strongly typed and an FP16 engine is built from the
FP16 ONNX, whose FP32 islands are already in its graph. The INT8 file (QDQ) is built strongly typed under
either, without precision flags: its Q/DQ nodes say where 8 bits are used. All: one optimization profile from the artifact's
metadata, a workspace limit, a persisted timing cache, and build progress through ``IProgressMonitor``.
UNVERIFIED where TensorRT is absent: the selection of layers to pin, the profile, the typing and the cache
key are tested without it; the calls into TensorRT are not.
"""

import time
from pathlib import Path

from visionrt import atomic
from visionrt.errors import ArtifactError
from visionrt.runtime.backends import cuda, tensorrt as trt_backend
from visionrt.runtime.engine_cache import EngineCache
from visionrt.runtime.profiles import profile_from_metadata

# TensorRT layer types kept FP32 in FP16 engines whatever the ONNX node names say: normalization reduces
# over many values, softmax exponentiates, recurrences accumulate over steps.
FP32_LAYER_TYPES = ("NORMALIZATION", "SOFTMAX", "REDUCE", "RNN_V2", "LOOP", "RECURRENCE")


def layers_to_pin(layers: list[tuple[str, str]], fp32_nodes: list[str]) -> list[str]:
    """Names of network layers to pin to FP32: those the ONNX parser made from an FP32-kept ONNX node and
    those of a risky type.

    TensorRT's ONNX parser names a node's first layer after the node and any further ones
    ``<node>_<counter>``. Another node may itself be called ``<node>_1`` (PyTorch's exporter numbers repeats
    that way) and would be pinned too: that costs speed, never accuracy, and the zoo's models are checked
    to have no such case (tests/export/test_tensorrt_build.py).
    """
    kept, pinned = set(fp32_nodes), []
    for name, type_name in layers:
        base, _, suffix = name.rpartition("_")
        from_node = name in kept or (suffix.isdigit() and base in kept)
        if from_node or type_name.upper() in FP32_LAYER_TYPES:
            pinned.append(name)
    return pinned


def progress_monitor(trt):
    """An IProgressMonitor printing each optimizer phase, so a long build is never silent."""

    class Progress(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            print(f"  [tensorrt] {'  ' if parent_phase else ''}{phase_name}: {num_steps} steps", flush=True)

        def step_complete(self, phase_name, step):
            return True  # returning False would cancel the build

        def phase_finish(self, phase_name):
            pass

    return Progress()


def build_engine(onnx_path: Path, cache: EngineCache | None = None, workspace: int = trt_backend.DEFAULT_WORKSPACE,
                 timing_cache: Path | None = None) -> Path:
    """Build (or find) the engine for ``onnx_path`` on this machine; return its cache path."""
    trt = trt_backend.tensorrt()
    cache = cache or EngineCache()
    meta = trt_backend.read_onnx_metadata(onnx_path)
    source, precision, build, key = trt_backend.resolve(Path(onnx_path), meta, trt_backend.environment(), workspace)
    existing = cache.lookup(key)
    if existing.engine is not None:
        print(f"engine already built for this machine: {existing.engine}")
        return existing.engine
    started = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = parse(builder, trt, logger, source, build["typing"])
    profile = profile_from_metadata(meta)
    timing_path = timing_cache or cache.root / f"timing-{key.tensorrt}-sm{key.compute_capability.replace('.', '')}.cache"
    config = configure(builder, network, trt, precision, build, profile, timing_path)
    monitor = progress_monitor(trt)  # TensorRT keeps only a reference: it must outlive the build
    config.progress_monitor = monitor
    print(f"building TensorRT {key.tensorrt} {precision} engine for {meta.model} on {key.gpu} from "
          f"{source.name} ({typing_note(build)}); profile min {profile.min} opt {profile.opt} max {profile.max}",
          flush=True)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ArtifactError(f"TensorRT failed to build an engine from {source} (see the log above)")
    path = cache.store(key, bytes(serialized), meta, time.perf_counter() - started, cuda.cuda_versions())
    atomic.write_bytes(timing_path, bytes(config.get_timing_cache().serialize()))  # after the engine: it matters more
    print(f"engine written to {path} in {time.perf_counter() - started:.1f} s")
    return path


def parse(builder, trt, logger, source: Path, typing: str):
    """The network TensorRT's ONNX parser makes of ``source``; a rejection names the file and the parser's errors."""
    network = builder.create_network(network_flags(trt, typing))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(source.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ArtifactError(f"TensorRT's ONNX parser rejected {source}: {errors}")
    return network


def configure(builder, network, trt, precision: str, build: dict, profile, timing_path: Path):
    """The builder config: workspace, optimization level, FP16 with obeyed FP32 pins (weak typing only),
    the optimization profile and the timing cache read from ``timing_path`` (empty when absent)."""
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, build["workspace_bytes"])
    config.builder_optimization_level = build["optimization_level"]
    if precision == "fp16" and build["typing"] == "weak":
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        _pin_fp32(network, build["fp32_nodes"], trt)
    trt_profile = builder.create_optimization_profile()
    trt_profile.set_shape(profile.input_name, profile.min, profile.opt, profile.max)
    if config.add_optimization_profile(trt_profile) < 0:
        raise ArtifactError(f"TensorRT refused the optimization profile for '{profile.input_name}': min {profile.min}, "
                            f"opt {profile.opt}, max {profile.max} (see its log above)")
    attach_timing_cache(config, timing_path)
    return config


def attach_timing_cache(config, timing_path: Path) -> None:
    """Reuse the timing cache at ``timing_path``, or start an empty one. TensorRT refuses (returns False for)
    a cache recorded on another device or CUDA version; timings from elsewhere would mislead tactic choice,
    so the build then starts afresh and its cache replaces the file."""
    recorded = timing_path.read_bytes() if timing_path.is_file() else b""
    if config.set_timing_cache(config.create_timing_cache(recorded), ignore_mismatch=False):
        return
    print(f"  timing cache {timing_path.name} was recorded on another device or CUDA version; starting an empty one",
          flush=True)
    config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)


def network_flags(trt, typing: str) -> int:
    """Network creation flags. Explicit batch is the only mode since TensorRT 10, so weak typing needs none;
    STRONGLY_TYPED is required for strong typing on 10.x and accepted (strong typing being the only mode) on
    11, where a release without the flag gets 0."""
    if typing == "weak":
        return 0
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


def typing_note(build: dict) -> str:
    """How the engine's precisions are decided, for the build log."""
    kept = len(build["fp32_nodes"])
    if build["typing"] == "strong":
        return f"strongly typed: the graph's own types, {kept} nodes FP32" if kept else "strongly typed"
    return f"weakly typed, {kept} nodes pinned to FP32" if kept else "weakly typed"


def _pin_fp32(network, fp32_nodes: list[str], trt) -> list[str]:
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    names = layers_to_pin([(layer.name, str(layer.type).split(".")[-1]) for layer in layers], fp32_nodes)
    for layer in layers:
        if layer.name in names:
            layer.precision = trt.float32
            for index in range(layer.num_outputs):
                layer.set_output_type(index, trt.float32)
    return names
