"""The gate of a precision that has no file of its own: BF16 is computed by OpenVINO's CPU plugin from the FP32
file (it rounds as it runs), so what says it keeps the model's quality is a small JSON document beside that
file, ``gate_bf16.json``, written by ``visionrt export MODEL --bf16`` on a CPU with native BF16.

This module is its one reader. The gate applies only to the FP32 file it measured (by sha256): a re-export
makes it stale, and a stale or failed gate is never what lets ``auto`` pick the precision. It records where it
was measured (CPU, engine version), because BF16 can only be measured on a CPU that computes it natively.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from visionrt.errors import ArtifactError
from visionrt.metadata_fields import Fields, is_text

GATE_FILES = {"bf16": "gate_bf16.json"}  # execution-only precision -> its gate, beside the FP32 file


@dataclass(frozen=True)
class ExecutionGate:
    precision: str  # what the engine computed at: "bf16"
    fp32_sha256: str  # the FP32 file measured; another file is not covered
    engine: str  # "openvino 2026.4.1"
    cpu: str  # where it was measured, with the ISA flags that matter
    passed: bool
    sets: dict  # per held-out input set: psnr_db or top1_agreement against FP32
    task: dict | None  # the task-level figures (export.task_gates), where the task has a gate
    bars: dict
    measured_at: str

    def covers(self, fp32_file: Path) -> bool:
        from visionrt.hashing import sha256_file

        return sha256_file(fp32_file) == self.fp32_sha256

    def summary(self) -> str:
        figures = "; ".join(f"{name} {', '.join(f'{k} {v}' for k, v in values.items())}" for name, values in self.sets.items())
        task = f"; {self.task['metric']} {self.task[self.precision]} against FP32's {self.task['fp32']}" if self.task else ""
        verdict = "passed" if self.passed else "NOT met"
        return f"{self.precision.upper()} gate {verdict} ({figures}{task}; measured on {self.cpu}, {self.engine})"


def gate_path(fp32_file: Path, precision: str) -> Path:
    return Path(fp32_file).parent / GATE_FILES[precision]


def read_gate(fp32_file: Path, precision: str) -> ExecutionGate | None:
    """The gate beside ``fp32_file`` for ``precision``, or None where none was measured; ArtifactError naming
    the file and field if it is malformed."""
    path = gate_path(fp32_file, precision)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: not a readable gate ({exc}); run `visionrt export MODEL --{precision}` again") from exc
    reader = Fields(doc, str(path))
    is_object = lambda v: isinstance(v, dict)  # noqa: E731
    return ExecutionGate(
        precision=reader.get("precision", lambda v: v == precision, f'"{precision}"'),
        fp32_sha256=reader.get("fp32_sha256", lambda v: is_text(v) and len(v) == 64, "the FP32 file's sha256"),
        engine=reader.get("engine", is_text, "the engine and its version"),
        cpu=reader.get("cpu", is_text, "the CPU measured on"),
        passed=reader.get("passed", lambda v: isinstance(v, bool), "true or false"),
        sets=reader.get("sets", is_object, "an object of input set -> figures"),
        task=reader.get("task", is_object, "the task gate's figures", None),
        bars=reader.get("bars", is_object, "an object of bars"),
        measured_at=reader.get("measured_at", is_text, "a UTC time"),
    )


def load_note(fp32_file: Path, precision: str) -> str:
    """What a load at ``precision`` says about its quality: the gate that covers this file; that there is none
    (a user's own file, or one re-exported since); a failed gate refuses the load, as a failed INT8 file is
    never installed."""
    from visionrt.errors import ValidationFailedError

    gate = read_gate(fp32_file, precision)
    if gate is not None and not gate.covers(fp32_file):
        return f"; its {precision.upper()} gate was measured on another file (re-exported since), so unchecked here"
    if gate is None:
        return (f"; no {precision.upper()} gate covers this file, so its quality at {precision} is unchecked "
                f"(`visionrt export MODEL --{precision}` measures it)")
    if not gate.passed:
        raise ValidationFailedError(f"{fp32_file}: {gate.summary()}, so it is not run at {precision}; load precision='fp32'")
    return f"; {gate.summary()}"


def write_gate(fp32_file: Path, gate: ExecutionGate) -> Path:
    from visionrt import atomic

    return atomic.write_text(gate_path(fp32_file, gate.precision), json.dumps(asdict(gate), indent=1, sort_keys=True))
