"""Checkpoint to installed zoo artifact: export, convert, validate, then (and only then) install.

Everything is written into a staging folder beside the destination. The previous artifact is replaced
file by file with atomic renames only after every gate has passed, so a failed export changes nothing.
"""

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from visionrt import artifact, atomic, model_zoo
from visionrt.artifact import CONFIG_FILE, FILES, REPORT_FILE, WEIGHTS_FILE
from visionrt.errors import ValidationFailedError
from visionrt.export import fp16, fp16_layers, metadata, onnx_export, triton, validate
from visionrt.extras import require
from visionrt.runtime.profiles import profile_from_metadata
from visionrt.train import checkpoint

FP32_FILE, FP16_FILE = FILES["fp32"], FILES["fp16"]
TOP1_TASKS = ("classification", "text_recognition")  # outputs are class scores: their argmax must agree


@dataclass
class ExportOptions:
    repository: Path = field(default_factory=model_zoo.repository_path)  # Triton-style model repository
    version: int = 1
    fp32_tolerance: validate.Tolerance = validate.FP32_TOLERANCE
    fp16_tolerance: validate.Tolerance = validate.FP16_TOLERANCE
    keep_fp32: tuple[str, ...] = ()  # node names or op types computed in FP32 in the FP16 file, beyond fp16's list


def ort_runner(path: Path, input_name: str):
    """The file as the runtime will run it (same session options and workarounds), on the CPU."""
    from visionrt import runtime

    model = runtime.load(path, backend="onnxruntime:cpu")

    def run(x: np.ndarray) -> list[np.ndarray]:
        result = model.run({input_name: x})
        return [result[spec.name] for spec in model.outputs] if isinstance(result, dict) else [result]

    return run


def torch_runner(model):
    torch = require("torch", "train")

    def run(x: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            out = model(torch.from_numpy(x))
        return [t.numpy() for t in out] if isinstance(out, (tuple, list)) else [out.numpy()]

    return run


def write_onnx(model_proto, meta: artifact.ArtifactMetadata, path: Path) -> None:
    onnx = require("onnx", "train")
    artifact.embed(model_proto, meta)
    onnx.save(model_proto, str(path))
    onnx.checker.check_model(str(path), full_check=True)


def export_checkpoint(checkpoint_path: str | Path, options: ExportOptions | None = None) -> dict:
    """Export one checkpoint into ``<repository>/<model>/``; return the export report."""
    onnx = require("onnx", "train")
    options = options or ExportOptions()
    started = time.perf_counter()
    payload = checkpoint.load(checkpoint_path)
    spec = model_zoo.get(payload["model"])
    model = checkpoint.build_model(payload)
    weights_sha = checkpoint.sha256(checkpoint_path)
    destination = Path(options.repository) / spec.name
    options.repository.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}.staging-", dir=options.repository))
    try:
        real = model_zoo.resolve(spec.validation_data)(payload)
        sets = validate.input_sets(real, large_batch=min(64, spec.max_batch_size))
        fp32_path, fp16_path = staging / FP32_FILE, staging / FP16_FILE
        onnx_export.export_onnx(model, spec.input_name, spec.output_names, torch_example(real), fp32_path,
                                spec.dynamic_axes)
        fp32_proto = onnx.load(str(fp32_path))
        base = metadata.build(spec, payload, weights_sha, "fp32", onnx_export.EXPORTER, onnx_export.OPSET)
        write_onnx(fp32_proto, base, fp32_path)
        half = fp16.convert_to_fp16(onnx.load(str(fp32_path)), tuple(options.keep_fp32))
        half_proto, kept = half.model, half.kept
        half_meta = replace(base, precision="fp16", fp32_nodes=tuple(kept))
        write_onnx(half_proto, half_meta, fp16_path)

        top1 = spec.task in TOP1_TASKS
        fp32_parity = validate.gate(f"{spec.name} FP32 ONNX vs PyTorch",
                                    validate.parity(torch_runner(model), ort_runner(fp32_path, spec.input_name), sets,
                                                    spec.output_names), options.fp32_tolerance, top1)
        fp16_parity = fp16_gate(spec, fp32_path, fp16_path, sets, half, options.fp16_tolerance, top1)
        # Parity figures travel inside the artifacts; only metadata changes, the validated graphs do not.
        write_onnx(fp32_proto, replace(base, parity={"vs_pytorch": fp32_parity}), fp32_path)
        write_onnx(half_proto, replace(half_meta, parity={"vs_fp32_onnx": fp16_parity}), fp16_path)
        shutil.copyfile(checkpoint_path, staging / WEIGHTS_FILE)
        atomic.write_text(staging / CONFIG_FILE, triton.config_pbtxt(spec.name, fp32_proto.graph, spec.max_batch_size,
                                                                        profile_from_metadata(base)))
        report = {
            "model": spec.name, **{key: base.provenance[key] for key in ("exported_at", "exporter", "opset")},
            "source_weights_sha256": weights_sha, "fp32_nodes_in_fp16": kept, "fp16_clipped_weights": half.clipped,
            "parity": {"fp32_vs_pytorch": fp32_parity, "fp16_vs_fp32": fp16_parity},
            "files": {name: {"bytes": (staging / name).stat().st_size, "sha256": checkpoint.sha256(staging / name)}
                      for name in (FP32_FILE, FP16_FILE, WEIGHTS_FILE)},
            "seconds": round(time.perf_counter() - started, 2),
        }
        atomic.write_text(staging / REPORT_FILE, json.dumps(report, indent=1))
        install(staging, destination, options.version)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fp16_gate(spec, fp32_path: Path, fp16_path: Path, sets: dict, half: fp16.Conversion,
              tolerance: validate.Tolerance, top1: bool) -> dict:
    """The FP16 file against the FP32 file; on failure the error also says where along the graph they part."""
    report = validate.parity(ort_runner(fp32_path, spec.input_name), ort_runner(fp16_path, spec.input_name), sets,
                             spec.output_names)
    try:
        return validate.gate(f"{spec.name} FP16 ONNX vs FP32 ONNX", report, tolerance, top1)
    except ValidationFailedError as exc:
        failing = validate.failing_sets(report, tolerance, top1)[0]
        where = explain_fp16_failure(fp32_path, fp16_path, spec.input_name, failing, sets[failing][0], half)
        raise ValidationFailedError(f"{exc}\n  {where}") from exc


def explain_fp16_failure(fp32_path: Path, fp16_path: Path, input_name: str, set_name: str, inputs: np.ndarray,
                         half: fp16.Conversion, samples: int = 8) -> str:
    """Where FP16 leaves FP32 on the failing inputs, tensor by tensor, and which weights FP16 clipped."""
    onnx = require("onnx", "train")
    rows = fp16_layers.compare_tensors(onnx.load(str(fp32_path)), onnx.load(str(fp16_path)),
                                       {input_name: inputs[:samples]}, half.kept)
    lines = [f"Tensor by tensor on {set_name} (first {min(samples, len(inputs))} inputs):",
             *fp16_layers.summary(rows).splitlines()]
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


def install(staging: Path, destination: Path, version: int) -> None:
    """Move validated files into ``destination`` (version folder for the graphs), one atomic rename each."""
    version_dir = destination / str(version)
    version_dir.mkdir(parents=True, exist_ok=True)
    for name in (FP32_FILE, FP16_FILE):
        (staging / name).replace(version_dir / name)
    # An INT8 file was calibrated and gated against the weights just replaced: `export --int8` makes a new one.
    (version_dir / FILES["int8"]).unlink(missing_ok=True)
    for name in (WEIGHTS_FILE, CONFIG_FILE, REPORT_FILE):
        (staging / name).replace(destination / name)
