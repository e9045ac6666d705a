"""INT8 as an artifact precision: static post-training quantization in QDQ form, calibrated on training-split
inputs, installed only through a gate against the FP32 file on held-out data.

QDQ (QuantizeLinear/DequantizeLinear pairs around each quantized op) is the one form that ONNX Runtime's CPU
provider, OpenVINO and TensorRT's explicit quantization all take. Weights are quantized per output channel,
activations per tensor, both signed 8-bit. Ops that lose accuracy in 8 bits stay float: softmax over colour
bins, log-softmax, the LSTM, instance normalization, and every node that writes a graph output (the heads).
The calibration method (min/max or a percentile of each activation's range) is chosen per model on a quarter
of the calibration inputs held back for it; the test split is only ever the gate's.
"""

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from visionrt import artifact, atomic, model_zoo
from visionrt.errors import ArtifactError, ValidationFailedError
from visionrt.extras import require
from visionrt.export.task_gates import task_gate
from visionrt.runtime.tasks import TOP1_TASKS

FLOAT_OPS = ("Softmax", "LogSoftmax", "LSTM", "InstanceNormalization")
METHODS = ("MinMax", "Percentile")
MIN_TOP1 = 0.995  # class outputs: top-1 agreement with the FP32 file
MIN_PSNR_DB = 35.0  # image outputs: PSNR against the FP32 file


@dataclass(frozen=True)
class Gate:
    passed: bool
    figures: dict  # per input set: top1_agreement or psnr_db, against the FP32 file
    method: str  # the calibration method chosen
    choice: dict  # the held-back calibration figure of each method
    task: dict | None = None  # the task-level gate's figures (task_gates), where the task has one

    def explain(self) -> str:
        bar = f"top-1 agreement >= {MIN_TOP1:.1%}" if "top1" in json.dumps(self.figures) else f"PSNR >= {MIN_PSNR_DB} dB"
        return f"INT8 ({self.method} calibration) against FP32 on held-out data: {json.dumps(self.figures)}; bar {bar}"


class Reader:
    """ONNX Runtime's calibration reader over an array, in whole batches of one size (the percentile
    calibrator stacks what it sees, so a short last batch would not fit)."""

    def __init__(self, name: str, inputs: np.ndarray, batch: int):
        batch = min(batch, len(inputs))
        self.feeds = iter([{name: np.ascontiguousarray(inputs[i : i + batch])}
                           for i in range(0, len(inputs) - batch + 1, batch)])

    def get_next(self):
        return next(self.feeds, None)

    def rewind(self):  # not used by static calibration, but part of the interface
        pass


def kept_float(model_proto) -> list[str]:
    """Nodes left in float: the FLOAT_OPS, whatever writes a graph output and the first layer (which reads the
    graph's input: 8-bit steps of a normalized image are coarse where every later layer depends on them)."""
    outputs = {value.name for value in model_proto.graph.output}
    inputs = {value.name for value in model_proto.graph.input}
    return [node.name for node in model_proto.graph.node
            if node.op_type in FLOAT_OPS or set(node.output) & outputs or set(node.input) & inputs]


def quantize(fp32_file: Path, out: Path, calibration: np.ndarray, input_name: str, method: str, batch: int) -> list[str]:
    """Write the QDQ INT8 model of ``fp32_file`` to ``out``, its metadata saying INT8 and the nodes kept
    float; return those nodes."""
    import logging

    onnx = require("onnx", "train")
    quantization = require("onnxruntime.quantization", None)
    proto = onnx.load(str(fp32_file))
    kept = kept_float(proto)
    import contextlib
    import io

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice to pre-process is logged as a warning
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the percentile calibrator prints its progress
            quantization.quantize_static(
                str(fp32_file), str(out), Reader(input_name, calibration, batch),
                quant_format=quantization.QuantFormat.QDQ, per_channel=True,
                activation_type=quantization.QuantType.QInt8, weight_type=quantization.QuantType.QInt8,
                nodes_to_exclude=kept, calibrate_method=getattr(quantization.CalibrationMethod, method),
                extra_options={"CalibPercentile": 99.999} if method == "Percentile" else None)
    finally:
        logging.getLogger().setLevel(quiet)
    quantized = onnx.load(str(out))
    artifact.embed(quantized, replace(artifact.from_proto(proto, str(fp32_file)), precision="int8", fp32_nodes=tuple(kept),
                                      parity={}))
    onnx.save(quantized, str(out))
    return kept


def agreement(reference: list[np.ndarray], got: list[np.ndarray], top1: bool) -> dict:
    ref, out = reference[0], got[0]
    if top1:
        return {"top1_agreement": round(float((ref.argmax(-1) == out.argmax(-1)).mean()), 5)}
    peak = max(float(ref.max() - ref.min()), 1.0)
    mse = float(np.mean((ref.astype(np.float64) - out) ** 2))
    return {"psnr_db": round(10 * np.log10(peak**2 / mse), 2) if mse > 0 else 200.0}


def passes(figure: dict) -> bool:
    return figure.get("top1_agreement", 1.0) >= MIN_TOP1 and figure.get("psnr_db", 200.0) >= MIN_PSNR_DB


def run_model(path: Path, backend: str = "onnxruntime:cpu", precision: str = "auto"):
    """The file loaded as a user would load it, at its own precision unless told (``bf16``: OpenVINO computes it)."""
    from visionrt import runtime

    return runtime.load(path, backend=backend, precision=precision)


def run_file(path: Path, input_name: str, inputs: np.ndarray, batch: int, model=None) -> list[np.ndarray]:
    """The file's outputs on ``inputs`` in batches, through ``model`` (default: ONNX Runtime on the file)."""
    model = run_model(path) if model is None else model
    results = [model.run(np.ascontiguousarray(inputs[i : i + batch])) for i in range(0, len(inputs), batch)]
    first = results[0]
    if isinstance(first, dict):
        return [np.concatenate([r[name] for r in results]) for name in first]
    return [np.concatenate(results)]


def held_out_sets(spec, payload: dict) -> dict[str, np.ndarray]:
    real = model_zoo.resolve(spec.validation_data)(payload)
    return real if isinstance(real, dict) else {"real": real}


def add_int8(name: str, repository: Path | None = None, calibration: np.ndarray | None = None) -> dict:
    """Quantize the installed FP32 file of zoo model ``name``, gate it, and install ``model_int8.onnx`` beside
    it (with its figures in export_report.json); raise ValidationFailedError, installing nothing, if it fails.
    ``calibration``: network inputs to calibrate on instead of the model's training-split ones."""
    from visionrt.model_zoo.registry import calibration_source
    from visionrt.runtime import source
    from visionrt.train import checkpoint

    onnx = require("onnx", "train")
    spec, started = model_zoo.get(name), time.perf_counter()
    folder = Path(repository or model_zoo.repository_path()) / name
    fp32_file = source.resolve(folder).files.get("fp32")
    if fp32_file is None:
        raise ArtifactError(f"{folder} has no installed FP32 file to quantize; export the model first")
    payload = checkpoint.load(folder / artifact.WEIGHTS_FILE)
    if calibration is None:
        calibration = model_zoo.resolve(calibration_source(spec))(payload)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.int8-", dir=folder))
    try:
        proto, kept, gate = quantize_and_gate(fp32_file, calibration, held_out_sets(spec, payload),
                                              spec.task in TOP1_TASKS, staging)
        candidate = staging / artifact.FILES["int8"]
        onnx.save(proto, str(candidate))
        gate = replace(gate, task=task_gate(spec.task, run_model(fp32_file), run_model(candidate), payload, "int8"))
        if gate.task is not None and not gate.task["passed"]:
            raise ValidationFailedError(f"{name}: INT8 {gate.task['metric']} {gate.task['int8']} against FP32's "
                                        f"{gate.task['fp32']}, bar {gate.task['bar']}: NOT met, so model_int8.onnx is "
                                        "not installed")
        int8_file = fp32_file.parent / artifact.FILES["int8"]
        with atomic.atomic_path(int8_file) as tmp:
            shutil.copyfile(candidate, tmp)
        return record_in_report(folder, int8_file, gate, kept, time.perf_counter() - started)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def quantize_and_gate(fp32_file: Path, calibration: np.ndarray, held_out: dict[str, np.ndarray], top1: bool,
                      workdir: Path) -> tuple[object, list[str], Gate]:
    """The gated INT8 model of ``fp32_file`` (its proto with metadata, the float-kept nodes, the gate), the
    calibration method chosen on a held-back quarter of ``calibration``; ValidationFailedError if it fails."""
    onnx = require("onnx", "train")
    base = artifact.read(fp32_file).metadata
    input_name, batch = base.input.name, min(base.max_batch_size, 64)
    held_back = calibration[3 * len(calibration) // 4 :]
    reference_back = run_file(fp32_file, input_name, held_back, batch)
    choice, kept = {}, []
    for method in METHODS:
        kept = quantize(fp32_file, workdir / f"{method}.onnx", calibration[: 3 * len(calibration) // 4], input_name,
                        method, batch)
        choice[method] = agreement(reference_back, run_file(workdir / f"{method}.onnx", input_name, held_back, batch),
                                   top1)
    key = "top1_agreement" if top1 else "psnr_db"
    method = max(METHODS, key=lambda m: choice[m][key])
    chosen = workdir / f"{method}.onnx"
    figures = {set_name: agreement(run_file(fp32_file, input_name, inputs, batch),
                                   run_file(chosen, input_name, inputs, batch), top1)
               for set_name, inputs in held_out.items()}
    gate = Gate(all(passes(f) for f in figures.values()), figures, method, choice)
    if not gate.passed:
        raise ValidationFailedError(f"{base.model}: {gate.explain()}: NOT met, so model_int8.onnx is not installed")
    proto = onnx.load(str(chosen))
    artifact.embed(proto, replace(base, precision="int8", fp32_nodes=tuple(kept),
                                  parity={"vs_fp32_onnx": {"sets": figures, "calibration": method,
                                                           "method_choice": choice}}))
    return proto, kept, gate


def record_in_report(folder: Path, int8_file: Path, gate: Gate, kept: list[str], seconds: float) -> dict:
    path = folder / artifact.REPORT_FILE
    report = json.loads(path.read_text()) if path.is_file() else {}
    add_to_report(report, int8_file, gate, kept, seconds)
    atomic.write_text(path, json.dumps(report, indent=1))
    return report


def add_to_report(report: dict, int8_file: Path, gate: Gate, kept: list[str], seconds: float) -> None:
    from visionrt.hashing import sha256_file

    report.setdefault("parity", {})["int8_vs_fp32"] = {"sets": gate.figures, "calibration": gate.method,
                                                       "method_choice": gate.choice, "bars": {
                                                           "top1_agreement": MIN_TOP1, "psnr_db": MIN_PSNR_DB},
                                                       **({"task": gate.task} if gate.task is not None else {})}
    report["float_nodes_in_int8"] = kept
    report.setdefault("files", {})[artifact.FILES["int8"]] = {"bytes": int8_file.stat().st_size,
                                                             "sha256": sha256_file(int8_file)}
    report["int8_seconds"] = round(seconds, 2)
