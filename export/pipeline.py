"""Checkpoint to installed zoo artifact: export, convert, validate, then (and only then) install.

Everything is written into a staging folder beside the destination. The previous artifact is replaced
file by file with atomic renames only after every gate has passed, so a failed export changes nothing.
"""

import contextlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from visionrt import artifact, atomic, model_zoo
from visionrt.artifact import CARD_FILE, CONFIG_FILE, EAGER_FILE, FILES, REPORT_FILE, WEIGHTS_FILE
from visionrt.errors import EngineError, ValidationFailedError, VisionRTError
from visionrt.execution_gates import GATE_FILES
from visionrt.export import fp16, metadata, onnx_export, parity_gates, tensor_compare, triton
from visionrt.extras import require
from visionrt.runtime.profiles import profile_from_metadata
from visionrt.runtime.tasks import TOP1_TASKS  # outputs are class scores: their argmax must agree
from visionrt.train import checkpoint

FP32_FILE, FP16_FILE = FILES["fp32"], FILES["fp16"]
STALE_BESIDE = (WEIGHTS_FILE, EAGER_FILE, CARD_FILE)  # removed when an export does not make them anew


@dataclass
class ExportOptions:
    repository: Path = field(default_factory=model_zoo.repository_path)  # Triton-style model repository
    version: int = 1
    fp32_tolerance: parity_gates.Tolerances = parity_gates.FP32_TOLERANCE
    fp16_tolerance: parity_gates.Tolerances = parity_gates.FP16_TOLERANCE
    keep_fp32: tuple[str, ...] = ()  # node names or op types computed in FP32 in the FP16 file, beyond fp16's list
    precisions: tuple[str, ...] = ("fp32", "fp16")  # the FP32 file always; FP16 unless left out


def ort_runner(path: Path, input_name: str):
    """The file as the runtime will run it (same session options and workarounds), on the CPU."""
    from visionrt import runtime

    model = runtime.load(path, backend="onnxruntime:cpu")

    def run(x: np.ndarray) -> list[np.ndarray]:
        with failing_shape(f"the ONNX graph {path.name}", input_name, x):
            result = model.run({input_name: x})
        return [result[spec.name] for spec in model.outputs] if isinstance(result, dict) else [result]

    return run


def torch_runner(model, input_name: str = "input"):
    torch = require("torch", "train")

    def run(x: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad(), failing_shape(f"the PyTorch module {type(model).__name__}", input_name, x):
            out = model(torch.from_numpy(x))
        return [t.numpy() for t in out] if isinstance(out, (tuple, list)) else [out.numpy()]

    return run


@contextlib.contextmanager
def failing_shape(what: str, input_name: str, x: np.ndarray):
    """An engine's own failure on a gate input, as a ValidationFailedError naming the shape: a graph exported
    with a size baked in (a reshape to the example's window count) fails only at the other sizes of its range."""
    try:
        yield
    except VisionRTError as exc:
        if not isinstance(exc, EngineError):
            raise
        raise shape_failure(what, input_name, x, str(exc)) from exc
    except Exception as exc:  # torch's RuntimeError, ...: the module's words
        raise shape_failure(what, input_name, x, " ".join(str(exc).split())) from exc


def shape_failure(what: str, input_name: str, x: np.ndarray, words: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"{what} fails at input shape {tuple(x.shape)}, one of the shapes the export checks: {words[:400]}. If it "
        f"takes only some sizes, give those axes a narrower range (dynamic={{'{input_name}': {{2: ('height', 128, "
        "256)}}) or leave them fixed; nothing was installed")


def write_onnx(model_proto, meta: artifact.ArtifactMetadata, path: Path) -> None:
    onnx = require("onnx", "train")
    artifact.embed(model_proto, meta)
    onnx.save(model_proto, str(path))
    onnx.checker.check_model(str(path), full_check=True)


@dataclass
class ExportJob:
    """One model's way through export, whoever wrote it: the zoo's checkpoints and a user's own module or ONNX
    file build one of these, and :func:`build_and_install` takes each the same way."""

    name: str
    base: artifact.ArtifactMetadata  # the FP32 file's metadata, before the gates' figures are added
    sets: dict[str, tuple[np.ndarray, int]]  # gate inputs: name -> (inputs, batch)
    top1: bool  # class scores: gate on top-1 agreement of the real sets too
    model: object = None  # the torch module to export; None: ``onnx_file`` is the FP32 graph and the reference
    example: object = None  # tracing input for ``model``
    dynamic_axes: dict[int, str] | None = None  # beyond the batch axis
    onnx_file: Path | None = None
    extra_files: dict[str, Callable[[Path], None]] = field(default_factory=dict)  # file name -> writer, installed beside
    report: dict = field(default_factory=dict)  # what the job adds to the export report
    steps: tuple[Callable[[Path, dict], None], ...] = ()  # more gated files made in staging (INT8), adding to the report
    card: Callable[["ExportJob", dict], str] | None = None  # MODEL_CARD.md from the job and its report


def export_checkpoint(checkpoint_path: str | Path, options: ExportOptions | None = None) -> dict:
    """Export one checkpoint into ``<repository>/<model>/``; return the export report."""
    payload = checkpoint.load(checkpoint_path)
    spec = model_zoo.get(payload["model"])
    weights_sha = checkpoint.sha256(checkpoint_path)
    real = model_zoo.resolve(spec.validation_data)(payload)
    job = ExportJob(
        name=spec.name, base=metadata.build(spec, payload, weights_sha, "fp32", onnx_export.EXPORTER, onnx_export.OPSET),
        sets=parity_gates.input_sets(real, large_batch=min(64, spec.max_batch_size)), top1=spec.task in TOP1_TASKS,
        model=checkpoint.build_model(payload), example=torch_example(real), dynamic_axes=spec.dynamic_axes,
        extra_files={WEIGHTS_FILE: lambda path: shutil.copyfile(checkpoint_path, path)})
    return build_and_install(job, options or ExportOptions())


def build_and_install(job: ExportJob, options: ExportOptions) -> dict:
    """Export (or take) the FP32 graph, make the FP16 file, gate both, and install them with the Triton config
    and the report into ``<repository>/<name>/``; on any failure the repository is left as it was."""
    onnx = require("onnx", "train")
    started, base = time.perf_counter(), job.base
    Path(options.repository).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{job.name}.staging-", dir=options.repository))
    try:
        fp32_path = staging / FP32_FILE
        if job.model is not None:
            onnx_export.export_onnx(job.model, base.input.name, base.outputs, job.example, fp32_path, job.dynamic_axes)
        else:  # loaded with any external data beside it, saved as one file
            onnx.save(onnx.load(str(job.onnx_file)), str(fp32_path))
        fp32_proto = onnx.load(str(fp32_path))
        write_onnx(fp32_proto, base, fp32_path)
        parity, half = {}, None
        if job.model is not None:
            parity["fp32_vs_pytorch"] = parity_gates.gate(
                f"{job.name} FP32 ONNX vs PyTorch", parity_gates.parity(torch_runner(job.model, base.input.name), ort_runner(
                    fp32_path, base.input.name), job.sets, base.outputs), options.fp32_tolerance, job.top1)
            # Parity figures travel inside the artifacts; only metadata changes, the validated graphs do not.
            write_onnx(fp32_proto, replace(base, parity={"vs_pytorch": parity["fp32_vs_pytorch"]}), fp32_path)
        if "fp16" in options.precisions:
            half, parity["fp16_vs_fp32"] = stage_fp16(job, fp32_path, staging / FP16_FILE, options)
        elif job.model is None:  # nothing to compare with: the graph still runs, finite, at every checked shape
            runner = ort_runner(fp32_path, base.input.name)
            for inputs, batch in job.sets.values():
                parity_gates.run_batched(runner, inputs, batch)
        for name, write in job.extra_files.items():
            write(staging / name)
        atomic.write_text(staging / CONFIG_FILE, triton.config_pbtxt(job.name, fp32_proto.graph, base.max_batch_size,
                                                                        profile_from_metadata(base)))
        report = {
            "model": job.name, **{key: base.provenance[key] for key in ("exported_at", "exporter", "opset")},
            "source_weights_sha256": base.provenance["source_weights_sha256"],
            "fp32_nodes_in_fp16": half.kept if half else None, "fp16_clipped_weights": half.clipped if half else None,
            "parity": parity, **job.report,
        }
        for step in job.steps:
            step(staging, report)
        files = [name for name in (*FILES.values(), *job.extra_files) if (staging / name).is_file()]
        report["files"] = {name: {"bytes": (staging / name).stat().st_size, "sha256": checkpoint.sha256(staging / name)}
                           for name in files}
        report["seconds"] = round(time.perf_counter() - started, 2)
        atomic.write_text(staging / REPORT_FILE, json.dumps(report, indent=1))
        beside = (*job.extra_files, *((CARD_FILE,) if job.card else ()))
        if job.card:
            atomic.write_text(staging / CARD_FILE, job.card(job, report))
        install(staging, Path(options.repository) / job.name, options.version, beside)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stage_fp16(job: ExportJob, fp32_path: Path, fp16_path: Path, options: ExportOptions) -> tuple[fp16.Conversion, dict]:
    """The FP16 file beside the gated FP32 one, gated against it: (the conversion, its gate figures)."""
    onnx = require("onnx", "train")
    half = fp16.convert_to_fp16(onnx.load(str(fp32_path)), tuple(options.keep_fp32))
    half_meta = replace(job.base, precision="fp16", fp32_nodes=tuple(half.kept))
    write_onnx(half.model, half_meta, fp16_path)
    figures = fp16_gate(job, fp32_path, fp16_path, half, options.fp16_tolerance)
    write_onnx(half.model, replace(half_meta, parity={"vs_fp32_onnx": figures}), fp16_path)
    return half, figures


def fp16_gate(job: ExportJob, fp32_path: Path, fp16_path: Path, half: fp16.Conversion,
              tolerance: parity_gates.Tolerances) -> dict:
    """The FP16 file against the FP32 file; on failure the error also says where along the graph they part."""
    name, outputs = job.base.input.name, job.base.outputs
    report = parity_gates.parity(ort_runner(fp32_path, name), ort_runner(fp16_path, name), job.sets, outputs)
    try:
        return parity_gates.gate(f"{job.name} FP16 ONNX vs FP32 ONNX", report, tolerance, job.top1)
    except ValidationFailedError as exc:
        failing = parity_gates.failing_sets(report, tolerance, job.top1)[0]
        where = explain_fp16_failure(fp32_path, fp16_path, name, failing, job.sets[failing][0], half)
        raise ValidationFailedError(f"{exc}\n  {where}") from exc


def explain_fp16_failure(fp32_path: Path, fp16_path: Path, input_name: str, set_name: str, inputs: np.ndarray,
                         half: fp16.Conversion, samples: int = 8) -> str:
    """Where FP16 leaves FP32 on the failing inputs, tensor by tensor, and which weights FP16 clipped."""
    onnx = require("onnx", "train")
    rows = tensor_compare.compare_tensors(onnx.load(str(fp32_path)), onnx.load(str(fp16_path)),
                                       {input_name: inputs[:samples]}, half.kept)
    lines = [f"Tensor by tensor on {set_name} (first {min(samples, len(inputs))} inputs):",
             *tensor_compare.summary(rows).splitlines()]
    if half.clipped:
        readers = {name: [node.name for node in half.model.graph.node if name in node.input] for name in half.clipped}
        lines.append(f"weights beyond +-{fp16.CLIP:g}, clipped in FP16: " + "; ".join(
            f"'{name}' ({count} values, read by {', '.join(readers[name]) or 'nothing'})"
            for name, count in half.clipped.items()))
    return "\n  ".join(lines)


def torch_example(real: np.ndarray | dict[str, np.ndarray]):
    torch = require("torch", "train")
    first = next(iter(real.values())) if isinstance(real, dict) else real
    return torch.from_numpy(first[:2].copy())


def install(staging: Path, destination: Path, version: int, beside: tuple[str, ...] = (WEIGHTS_FILE,)) -> None:
    """Move validated files into ``destination`` (version folder for the graphs), one atomic rename each.
    A graph file this export did not make is removed: an INT8 file was calibrated and gated against the
    weights just replaced (`export --int8` makes a new one), as a BF16 gate measured them (`export --bf16`)."""
    version_dir = destination / str(version)
    version_dir.mkdir(parents=True, exist_ok=True)
    for name in (*FILES.values(), *GATE_FILES.values()):
        if (staging / name).is_file():
            (staging / name).replace(version_dir / name)
        else:
            (version_dir / name).unlink(missing_ok=True)
    for name in (*beside, CONFIG_FILE, REPORT_FILE):
        (staging / name).replace(destination / name)
    for name in set(STALE_BESIDE) - set(beside):  # they describe, or rebuild, the model just replaced
        (destination / name).unlink(missing_ok=True)
