"""BF16 as a gated precision: OpenVINO's CPU plugin computes the FP32 file in BF16 (weights and activations
rounded to 8 mantissa bits, sums in FP32), which on a CPU with AMX or AVX512-BF16 is up to twice as fast.
No file is written for it, so the gate is measured here and stored beside the FP32 file
(:mod:`visionrt.execution_gates`): the same bars as INT8 (tensor agreement with FP32 on the held-out sets,
and the task's own bar), against ONNX Runtime's FP32 outputs.

It can only be measured on a CPU that computes BF16 natively; elsewhere OpenVINO would emulate it or run FP32,
and a gate measured that way would say nothing. A failed gate is written too, so that ``visionrt tune`` and
``auto`` know not to use BF16 and the card says why; the command then exits with an error.
"""

import json
import time
from pathlib import Path

from visionrt import artifact, model_zoo
from visionrt.errors import ArtifactError, ValidationFailedError
from visionrt.execution_gates import ExecutionGate, write_gate
from visionrt.export.int8 import MIN_PSNR_DB, MIN_TOP1, agreement, held_out_sets, passes, run_file, run_model
from visionrt.export.task_gates import task_gate
from visionrt.runtime.tasks import TOP1_TASKS


def measure(fp32_file: Path, held_out: dict, top1: bool, task: str | None, payload: dict,
            candidate=None) -> ExecutionGate:
    """The BF16 gate of ``fp32_file``: OpenVINO at BF16 (or ``candidate``, a loaded model standing in for it)
    against ONNX Runtime at FP32, set by set and at the task level."""
    import openvino

    from visionrt.hashing import sha256_file
    from visionrt.runtime.machine import cpu_flags, cpu_name

    base = artifact.read(fp32_file).metadata
    reference = run_model(fp32_file)
    if candidate is None:  # refused on a CPU without native BF16
        candidate = run_model(fp32_file, backend="openvino", precision="bf16")
    batch = min(base.max_batch_size, 64)
    sets = {name: agreement(run_file(fp32_file, base.input.name, inputs, batch, reference),
                            run_file(fp32_file, base.input.name, inputs, batch, candidate), top1)
            for name, inputs in held_out.items()}
    task_figures = task_gate(task, reference, candidate, payload, "bf16")
    passed = all(passes(f) for f in sets.values()) and (task_figures is None or task_figures["passed"])
    flags = [f for f in cpu_flags() if "bf16" in f or "amx" in f]
    return ExecutionGate("bf16", sha256_file(fp32_file), f"openvino {openvino.get_version().split('-')[0]}",
                         f"{cpu_name()} ({', '.join(flags)})", passed, sets, task_figures,
                         {"top1_agreement": MIN_TOP1, "psnr_db": MIN_PSNR_DB},
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def add_bf16_gate(name: str, repository: Path | None = None) -> ExecutionGate:
    """Measure and record the BF16 gate of zoo model ``name``'s installed FP32 file (gate file, report, card
    figures); raise ValidationFailedError, after recording it, if the gate fails."""
    from visionrt.runtime import source
    from visionrt.train import checkpoint

    spec = model_zoo.get(name)
    folder = Path(repository or model_zoo.repository_path()) / name
    fp32_file = source.resolve(folder).files.get("fp32")
    if fp32_file is None:
        raise ArtifactError(f"{folder} has no installed FP32 file to gate at BF16; export the model first")
    payload = checkpoint.load(folder / artifact.WEIGHTS_FILE)
    gate = measure(fp32_file, held_out_sets(spec, payload), spec.task in TOP1_TASKS, spec.task, payload)
    write_gate(fp32_file, gate)
    record_in_report(folder, gate)
    if not gate.passed:
        raise ValidationFailedError(f"{name}: {gate.summary()}; bars: {json.dumps(gate.bars)}. Recorded, so that "
                                    "`auto` never picks BF16 for it")
    return gate


def record_in_report(folder: Path, gate: ExecutionGate) -> None:
    from visionrt import atomic

    path = folder / artifact.REPORT_FILE
    report = json.loads(path.read_text()) if path.is_file() else {}
    report.setdefault("parity", {})["bf16_vs_fp32"] = {
        "sets": gate.sets, "bars": gate.bars, "passed": gate.passed, "measured_on": gate.cpu, "engine": gate.engine,
        **({"task": gate.task} if gate.task is not None else {})}
    atomic.write_text(path, json.dumps(report, indent=1))
