"""`visionrt tune`: which CPU backend runs each model fastest on this machine, measured, and remembered.

No static order is right on every CPU: on an AVX2 EPYC ONNX Runtime ran most zoo models faster than
OpenVINO, while on a Xeon with AVX-512 and AMX OpenVINO was several times faster on the convolutional ones.
So every available CPU target is timed on the model's own file, interleaved (each round times every
candidate once, in turn, so a change of load hits all alike), and the winner is recorded per machine: keyed
by the CPU (name, architecture, ISA flags), the library versions and the artifact's sha256, so that a new
CPU, an upgrade or a re-export makes the record inapplicable instead of wrong. ``load(backend="auto")``
uses a record that applies and says so in ``reasons``. The FP32 file and, where the exporter installed one,
the INT8 file are tuned: an INT8 file exists only once it has passed its gate against FP32 on held-out data.
BF16 (OpenVINO computing the FP32 file) is tuned where its gate beside the FP32 file passed for that very
file and this CPU computes BF16 natively; so ``auto`` reaches a precision beyond FP32 only through a gate.
"""

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from visionrt import atomic
from visionrt.artifact import ArtifactMetadata
from visionrt.hashing import sha256_file
from visionrt.runtime.machine import cpu_identity, cpu_name

TUNED_PRECISIONS = ("fp32", "int8", "bf16")
EXECUTION_TARGETS = {"bf16": "openvino:cpu"}  # a precision only one engine computes, from the FP32 file
SPIN_SETTLE = 0.4  # s after a spinning candidate's turn, so that its threads park before the next is timed
RECORD_FILE = "tuned.json"


# What is tried on each CPU target: its defaults, one intra-op thread (no pool to wake for a tiny graph) and,
# for ONNX Runtime, spinning workers (faster in a tight loop on one model; see backends.ort.SPINNING).
SETTINGS = {"onnxruntime:cpu": ({}, {"threads": 1}, {"spin": True}), "openvino:cpu": ({}, {"threads": 1})}


def label(target: str, options: dict) -> str:
    return target + "".join(f" {key}={value}" for key, value in sorted(options.items()))


@dataclass(frozen=True)
class Timing:
    target: str  # "onnxruntime:cpu", "openvino:cpu"
    options: dict  # load() settings beyond the target: {"threads": 1}, {"spin": True}
    p50_ms: float
    spread: float  # (p90 - p10) / p50 over the rounds
    rounds: int


@dataclass(frozen=True)
class Record:
    model: str
    shape: tuple[int, ...]
    winner: str
    options: dict  # the winner's settings
    timings: tuple[Timing, ...]
    key: dict  # what makes the record apply: cpu, libraries, artifact sha256
    tuned_at: str
    refused: dict | None = None  # combinations an engine would not load, with its words

    def reason(self) -> str:
        times = ", ".join(f"{label(t.target, t.options)} {t.p50_ms:.3g} ms"
                          for t in sorted(self.timings, key=lambda t: t.p50_ms)[:3])
        return (f"backend {label(self.winner, self.options)}: measured fastest here by `visionrt tune` ({times}, p50 at "
                f"{'x'.join(map(str, self.shape))}, {self.tuned_at})")


def library_versions() -> dict[str, str]:
    """The CPU engines' versions: an upgrade of either can change which one is faster."""
    found = {}
    try:
        import onnxruntime

        found["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    try:
        import openvino

        found["openvino"] = openvino.get_version()
    except ImportError:
        pass
    return found


def fp32_file(model: str) -> Path:
    from visionrt.runtime import source

    return source.resolve(model).files["fp32"]


def record_name(onnx_file: Path) -> str:
    """What a record is filed under: a zoo model's name, or any other model folder's full path (a user's folder
    named ``digits`` is not the zoo's digits)."""
    from visionrt import model_zoo

    folder = Path(onnx_file).resolve().parent.parent
    return folder.name if folder.parent == model_zoo.repository_path().resolve() else str(folder)


def record_key(onnx_file: Path) -> dict:
    return {"cpu": cpu_name(), "cpu_identity": cpu_identity(), "libraries": library_versions(),
            "onnx_sha256": sha256_file(onnx_file)}


def records_path() -> Path:
    from visionrt.runtime.engine_cache import default_root

    return Path(os.environ.get("VISIONRT_TUNE_FILE", default_root() / RECORD_FILE))


def read_records(path: Path | None = None) -> dict[str, dict]:
    path = path or records_path()
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def applicable(model: str, onnx_file: Path, available: set[str], path: Path | None = None) -> Record | None:
    """The tuning record for ``model`` if it was measured on this CPU, with these libraries, on this file,
    and its winner is available now; else None (``auto`` then uses the static order)."""
    entry = read_records(path).get(model)
    if not entry or entry.get("key") != record_key(onnx_file) or entry.get("winner") not in available:
        return None
    try:
        record = Record(entry["model"], tuple(entry["shape"]), entry["winner"], dict(entry["options"]),
                        tuple(Timing(**t) for t in entry["timings"]), entry["key"], entry["tuned_at"], entry.get("refused"))
    except (KeyError, TypeError):
        return None  # written by an older visionrt: tune again
    return record if still_gated(record, onnx_file) else None


def still_gated(record: Record, fp32_file: Path) -> bool:
    """Whether the winner's precision is still one a gate allows (its INT8 file there, its BF16 gate passed)."""
    from visionrt.runtime import source

    return record.options.get("precision", "fp32") in gated_precisions(source.resolve(Path(fp32_file).parent.parent))


def tuning_shape(meta: ArtifactMetadata) -> tuple[int, ...]:
    """Batch 1 at the size the artifact's profile is tuned for (its opt size for dynamic axes)."""
    from visionrt.runtime.profiles import profile_from_metadata

    return (1, *profile_from_metadata(meta).opt[1:])


def interleaved(calls: dict[str, Callable[[], object]], seconds: float, min_rounds: int = 5, block_ms: float = 20.0,
                settle: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Per-round times in ms for about ``seconds``: each round times every candidate once, in turn, as the
    median call of a block of about ``block_ms``, after one untimed call. The block keeps the rounds fair to
    all: ONNX Runtime's and OpenMP's worker threads spin for a while after a call, and on a small machine
    the spinning slows whatever runs next: one untimed call absorbs a short tail, and ``settle`` gives a
    candidate whose threads spin long (a default ONNX Runtime session: a few hundred ms) time to park
    before the next one is timed."""
    samples = {name: [] for name in calls}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(next(iter(samples.values()))) < min_rounds:
        for name, call in calls.items():
            call()
            block, block_end = [], time.perf_counter() + block_ms / 1e3
            while not block or time.perf_counter() < block_end:
                started = time.perf_counter_ns()
                call()
                block.append((time.perf_counter_ns() - started) / 1e6)
            samples[name].append(float(np.median(block)))
            time.sleep((settle or {}).get(name, 0.0))
    return {name: np.asarray(values) for name, values in samples.items()}


def summarize(target: str, options: dict, values: np.ndarray) -> Timing:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return Timing(target, options, round(float(p50), 4), round(float((p90 - p10) / p50), 3), len(values))


def gated_precisions(resolved) -> list[str]:
    """The precisions worth timing: the files the folder holds (an INT8 file is there only if it passed its
    gate) and BF16 where its gate passed for this FP32 file (whether this CPU runs it, loading tells)."""
    from visionrt.errors import ArtifactError
    from visionrt.execution_gates import read_gate

    if "fp32" not in resolved.files:
        raise ArtifactError(f"{resolved.description} has no FP32 file, which tuning records are keyed by; export it first")
    have = [p for p in TUNED_PRECISIONS if p in resolved.files]
    gate = read_gate(resolved.files["fp32"], "bf16")
    return have + (["bf16"] if gate is not None and gate.passed and gate.covers(resolved.files["fp32"]) else [])


def tune(model: str, seconds: float = 3.0, path: Path | None = None, warmup: int = 3) -> Record:
    """Time every available CPU target, with each of its SETTINGS, on ``model``'s FP32 and gated INT8 files,
    and BF16 where gated; record the winner. A combination an engine refuses (OpenVINO cannot compile the reader's INT8 LSTM
    graph) is left out and named in the record."""
    from visionrt import runtime
    from visionrt.errors import VisionRTError
    from visionrt.runtime import source

    targets = [t.name for t in runtime.available_backends() if t.available and not t.on_gpu]
    have = gated_precisions(source.resolve(model))
    candidates = [(name, {**options, **({"precision": p} if p != "fp32" else {})})
                  for p in have for name in targets if EXECUTION_TARGETS.get(p, name) == name
                  for options in SETTINGS.get(name, ({},))]
    loaded, refused = {}, {}
    for name, options in candidates:
        settings = {key: value for key, value in options.items() if key != "precision"}
        try:
            model_object = runtime.load(model, backend=name, precision=options.get("precision", "fp32"), **settings)
        except VisionRTError as exc:
            refused[label(name, options)] = str(exc)[:300]
            continue
        loaded[label(name, options)] = (name, options, model_object)
    if not loaded:
        raise VisionRTError(f"{model}: no CPU backend would load it: " + "; ".join(f"{k}: {v}" for k, v in refused.items()))
    first = next(iter(loaded.values()))[2]
    shape = tuning_shape(first.metadata)
    batch = np.random.default_rng(0).random(shape, dtype=np.float32)
    calls = {key: (lambda m=m: m.run(batch)) for key, (_, _, m) in loaded.items()}
    for call in calls.values():
        for _ in range(warmup):
            call()
    spinning = {key: SPIN_SETTLE for key, (_, options, _) in loaded.items() if options.get("spin")}
    measured = interleaved(calls, seconds, settle=spinning)
    timings = tuple(summarize(*loaded[key][:2], values) for key, values in measured.items())
    best = min(timings, key=lambda t: t.p50_ms)
    record = Record(model, shape, best.target, best.options, timings, record_key(fp32_file(model)),
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), refused)
    store(record, path)
    return record


def store(record: Record, path: Path | None = None) -> None:
    path = path or records_path()
    records = read_records(path)
    records[record_name(fp32_file(record.model))] = asdict(record)
    atomic.write_text(path, json.dumps(records, indent=1, sort_keys=True))
