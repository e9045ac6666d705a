"""What the benchmark times: eager PyTorch on the same weights, every runtime target and precision, and a
bare onnxruntime session (to measure the runtime's own overhead).

A Candidate loads lazily (so that load plus first call can be timed as cold start) and then binds an input
batch, returning the call to time and a function that fetches its output as a numpy array.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

Bound = tuple[Callable[[], object], Callable[[], np.ndarray]]  # (timed call, output fetch)
NHWC = {"prefer_nhwc": "1"}  # ONNX Runtime CUDA: channels-last convolutions; faster for some models, not all


def merge_outputs(out) -> np.ndarray:
    """One array from a graph's outputs: several (a dict, list or tuple) are flattened and joined per sample,
    so that one max-abs-error figure covers them all (e.g. the VAE encoder's mu and logvar)."""
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        arrays = [o.float().cpu().numpy() if hasattr(o, "cpu") else np.asarray(o) for o in out]
        return arrays[0] if len(arrays) == 1 else np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1)
    return out.float().cpu().numpy() if hasattr(out, "cpu") else out


@dataclass
class Candidate:
    name: str  # "pytorch-eager", "visionrt", "visionrt-cuda-graph" (TensorRT), "visionrt-nhwc" (ORT CUDA), ...
    backend: str  # what executes: "pytorch", "onnxruntime:cpu", ...
    device: str  # "cpu" or "cuda"
    precision: str  # "fp32", "fp16", "autocast-fp16"
    timing: str  # "host" (numpy in and out, perf_counter) or "cuda-events" (device-resident tensors)
    load: Callable[[], Callable[[np.ndarray], Bound]]
    prepare: Callable[[], str] | None = None  # an explicit step before cold start (an engine build); says what it did

    @property
    def label(self) -> str:
        return f"{self.name} {self.backend} {self.precision} [{self.timing}]"


def eager_candidates(build: Callable[[], object] | None, devices: list[str], compile_model: bool) -> list[Candidate]:
    """Eager PyTorch rows: FP32 everywhere; on CUDA also .half(), autocast and (optionally) torch.compile.
    ``build`` makes the module on the same weights as the ONNX files; None (no source module): no rows."""
    if build is None:
        return []
    found = []
    for device in devices:
        variants = [("fp32", None)] if device == "cpu" else [("fp32", None), ("fp16", "half"), ("autocast-fp16", "autocast")]
        if compile_model:
            variants.append(("fp32-compiled", "compile"))
        timings = ["host"] if device == "cpu" else ["host", "cuda-events"]
        for precision, mode in variants:
            for timing in timings:
                found.append(Candidate("pytorch-eager", "pytorch", device, precision, timing,
                                       _eager_loader(build, device, mode, timing == "host")))
    return found


def _eager_loader(build: Callable[[], object], device: str, mode: str | None, host_io: bool):
    def load():
        import torch

        model = build().to(device)
        dtype = torch.float16 if mode == "half" else torch.float32
        model = model.to(dtype)
        if mode == "compile":
            model = torch.compile(model)

        def forward(x):
            with torch.inference_mode(), torch.autocast(device, dtype=torch.float16, enabled=mode == "autocast"):
                return model(x)

        def bind(batch: np.ndarray) -> Bound:
            def to_device():
                return torch.from_numpy(batch).to(device, dtype)

            def fetch():
                return merge_outputs(forward(to_device()))

            if host_io:  # numpy in, numpy out: copies and synchronization are part of the time
                return fetch, fetch
            resident = to_device()
            return (lambda: forward(resident)), fetch

        return bind

    return load


def runtime_candidates(model_dir: Path, devices: list[str], single_thread: bool = False) -> list[Candidate]:
    """One row per available runtime target (on the requested devices) and per precision in the artifact (the
    gated INT8 file on CPU targets only).
    ``single_thread`` adds an FP32 CPU row whose session runs one intra-op thread (``threads=1``): the
    setting for many concurrent callers, each bringing its own thread, as the concurrency sweep compares."""
    from visionrt import runtime
    from visionrt.runtime import source

    precisions = source.resolve(model_dir).precisions()
    found = []
    for target in runtime.available_backends():
        if not target.available or ("cuda" if target.on_gpu else "cpu") not in devices:
            continue
        for precision in [p for p in precisions if p != "int8" or not target.on_gpu]:  # INT8 files are for CPUs
            native = target.backend == "tensorrt"
            found.append(Candidate("visionrt", target.name, "cuda" if target.on_gpu else "cpu", precision, "host",
                                   _runtime_loader(model_dir, target.name, precision),
                                   _engine_builder(model_dir, precision) if native else None))
            if target.on_gpu and target.backend == "onnxruntime":
                found.append(Candidate("visionrt", target.name, "cuda", precision, "device-resident",
                                       _bound_loader(model_dir, target.name, precision)))
            if target.name == "onnxruntime:cuda":  # the layout choice that runtime.load leaves to the user
                found.append(Candidate("visionrt-nhwc", target.name, "cuda", precision, "host",
                                       _runtime_loader(model_dir, target.name, precision, provider_options=NHWC)))
            if single_thread and target.name == "onnxruntime:cpu" and precision == "fp32":
                found.append(Candidate("visionrt-1thread", target.name, "cpu", precision, "host",
                                       _runtime_loader(model_dir, target.name, precision, threads=1)))
            if native:  # the engine built for the row above serves this one
                found.append(Candidate("visionrt-cuda-graph", target.name, "cuda", precision, "host",
                                       _runtime_loader(model_dir, target.name, precision, cuda_graph=True)))
    return found


def _engine_builder(model_dir: Path, precision: str) -> Callable[[], str]:
    """Build the engine (or find it in the cache) before cold start is timed: building is an explicit step,
    never part of a load, and its minutes would swamp the load-and-first-call figure."""

    def prepare() -> str:
        import time

        from visionrt.export.tensorrt_build import build_engine
        from visionrt.runtime import source
        from visionrt.runtime.engine_cache import EngineCache

        cache = EngineCache()
        before = set(cache.root.glob("*.engine")) if cache.root.is_dir() else set()
        started = time.perf_counter()
        engine = build_engine(source.resolve(model_dir).files[precision], cache)
        seconds = time.perf_counter() - started
        return f"engine {'found in the cache' if engine in before else f'built in {seconds:.1f} s'}: {engine.name}"

    return prepare


def _bound_loader(model_dir: Path, backend: str, precision: str):
    """ONNX Runtime with IO binding: the input copied to the device once, outputs left there; the timed call
    is the session run alone (ORT synchronizes its stream before returning)."""

    def load():
        from visionrt import runtime

        model = runtime.load(model_dir, backend=backend, precision=precision)
        session, name = model.backend, model.inputs[0].name

        def bind(batch: np.ndarray) -> Bound:
            resident = session.to_device(batch)
            return (lambda: session.run_bound({name: resident}, keep_on_device=True)), \
                (lambda: merge_outputs(session.run_bound({name: resident})))

        return bind

    return load


def _runtime_loader(model_dir: Path, backend: str, precision: str, cuda_graph: bool = False,
                    provider_options: dict | None = None, threads: int | None = None):
    def load():
        from visionrt import runtime

        model = runtime.load(model_dir, backend=backend, precision=precision, cuda_graph=cuda_graph,
                             provider_options=provider_options, threads=threads)

        def bind(batch: np.ndarray) -> Bound:
            return (lambda: model.run(batch)), (lambda: merge_outputs(model.run(batch)))

        return bind

    return load


def bare_session_candidate(onnx_path: Path, input_name: str) -> Candidate:
    """A plain onnxruntime CPU session with no visionrt code in the loop: the overhead reference."""

    def load():
        import onnxruntime

        session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])

        def bind(batch: np.ndarray) -> Bound:
            return (lambda: session.run(None, {input_name: batch})), \
                (lambda: merge_outputs(session.run(None, {input_name: batch})))

        return bind

    return Candidate("onnxruntime-bare", "onnxruntime:cpu", "cpu", "fp32", "host", load)
