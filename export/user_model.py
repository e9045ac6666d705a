"""Bring your own model: any ``nn.Module`` (or ONNX file) through the zoo's export, gates and install.

The zoo starts from a registered checkpoint; here the user hands over the module and an example input, names
the dynamic axes, and optionally says what the model is for (task, preprocessing, labels). Everything after
that is the zoo's own path (:func:`visionrt.export.pipeline.build_and_install`): the same exporter, metadata,
FP16 conversion and gates, config and report, installed only when every gate passed. The eager baseline stays
reproducible without the user's code: the module is saved as a ``torch.export`` program (``eager.pt2``) beside
the ONNX files, which ``visionrt bench`` runs as the eager PyTorch row.
"""

import hashlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

import visionrt
from visionrt import artifact
from visionrt.errors import ArtifactError, ExportFailedError, UserInputError
from visionrt.export import axes as dynamic_axes, int8, onnx_export, user_card
from visionrt.export.pipeline import ExportJob, ExportOptions, build_and_install
from visionrt.runtime.tasks import TOP1_TASKS
from visionrt.export.parity_gates import Tolerance, Tolerances
from visionrt.extras import require

EAGER_FILE = artifact.EAGER_FILE
LARGE_BATCH = 8  # the gates' larger batch: enough to catch batch-dependent bugs, cheap for big models
MIN_CALIBRATION = 8


def export_model(model, example, *, name: str, repository: str | Path, dynamic=None, task: str | None = None,
                 preprocessing: dict | artifact.Preprocessing | None = None, labels: Sequence[str] | None = None,
                 real_inputs=None, calibration=None, precisions: Sequence[str] = ("fp32", "fp16"),
                 tolerances: Mapping | None = None, output_names: Sequence[str] | None = None,
                 max_batch_size: int = 32, summary: str = "", keep_fp32: Sequence[str] = ()) -> dict:
    """Export ``model`` (an ``nn.Module``) traced on ``example`` (a batch tensor, or ``{input_name: tensor}``)
    into ``<repository>/<name>/``; return the export report, or raise leaving the repository untouched.

    dynamic: axes that may change size, e.g. ``{"image": {0: "batch", 2: "height", 3: "width"}}`` or
    ``{"image": [0, 2, 3]}``; a ``(name, min, max)`` tuple sets an axis's range (default: half to twice the
    example's size). task, preprocessing, labels: what the runtime's task APIs need (classification:
    preprocessing and labels); without a task the artifact is a tensor model served by ``run()``.
    real_inputs: a batch of the user's own network inputs, gated beside the random ones (top-1 agreement for
    classifiers). calibration: network inputs from the training data; with "int8" in ``precisions`` the INT8
    file is made from them and gated on ``real_inputs``. tolerances: ``{"fp32": Tolerance, "fp16": Tolerance}``,
    either one a ``{output name: Tolerance}`` mapping, over the zoo's defaults; they are recorded in the report.
    """
    torch = require("torch", "train")
    if not isinstance(model, torch.nn.Module):
        raise UserInputError(f"export_model takes a torch.nn.Module, got {type(model).__name__}; for an ONNX file "
                             "use export_onnx_file")
    input_name, tensor = named_example(example, torch)
    model = model.eval()
    outputs = output_names_of(model, tensor, output_names, torch)
    shape = tuple(tensor.shape)
    axes = dynamic_axes.parse(dynamic, input_name, shape, checked_batch(max_batch_size))
    source = {"kind": "torch.nn.Module", "module": f"{type(model).__module__}:{type(model).__qualname__}",
              "eager_program": EAGER_FILE}
    meta = metadata(name, task, input_name, shape, axes, outputs, max_batch_size, preprocessing, labels, summary,
                    source, weights_sha256(model), onnx_export.EXPORTER, onnx_export.OPSET, torch.__version__)
    job = ExportJob(name=name, base=meta, sets={}, top1=task in TOP1_TASKS, model=model, example=tensor,
                    dynamic_axes={index: axis.name for index, axis in axes.items() if index > 0},
                    extra_files={EAGER_FILE: lambda path: save_program(model, tensor, axes, path, torch)})
    return finish(job, shape, axes, real_inputs, calibration, precisions, repository, tolerances, keep_fp32)


def export_onnx_file(onnx_file: str | Path, *, name: str, repository: str | Path, dynamic=None, task: str | None = None,
                     preprocessing: dict | artifact.Preprocessing | None = None, labels: Sequence[str] | None = None,
                     real_inputs=None, calibration=None, precisions: Sequence[str] = ("fp32", "fp16"),
                     tolerances: Mapping | None = None, max_batch_size: int = 32, summary: str = "",
                     keep_fp32: Sequence[str] = ()) -> dict:
    """An existing ONNX file into ``<repository>/<name>/``: metadata added, the FP16 (and INT8) file made and
    gated against it, config, card and report written. Its dynamic axes are the graph's own symbolic ones;
    an unsized height or width gets the range 32 to 512 (opt 256), which the gates then check, unless
    ``dynamic`` gives it another, e.g. ``{"image": {2: ("height", 224, 224), 3: ("width", 224, 224)}}``."""
    onnx = require("onnx", "train")
    from visionrt.hashing import sha256_file

    path = Path(onnx_file)
    if not path.is_file():
        raise ArtifactError(f"ONNX file not found: {path}")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto, full_check=True)  # as the exporter checks its own files
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ... for a damaged or invalid file
        raise ArtifactError(f"{path} is not a valid ONNX model: {str(exc).splitlines()[0][:300]}") from exc
    input_name, shape, dynamic = graph_input(proto, path, dynamic)
    axes = dynamic_axes.parse(dynamic, input_name, shape, checked_batch(max_batch_size))
    outputs = tuple(value.name for value in proto.graph.output)
    opset = max((op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")), default=0)
    source = {"kind": "ONNX file", "onnx_file": str(path)}
    meta = metadata(name, task, input_name, shape, axes, outputs, max_batch_size, preprocessing, labels, summary,
                    source, sha256_file(path), f"given: {path.name}", opset, None)
    job = ExportJob(name=name, base=meta, sets={}, top1=task in TOP1_TASKS, onnx_file=path)
    return finish(job, shape, axes, real_inputs, calibration, precisions, repository, tolerances, keep_fp32)


def finish(job: ExportJob, shape: tuple, axes: dict, real_inputs, calibration, precisions, repository, tolerances,
           keep_fp32) -> dict:
    """The gates' inputs, the INT8 step and the card added to ``job``, which then takes the zoo's path."""
    wanted = checked_precisions(precisions, calibration, real_inputs)
    real = as_array(real_inputs, "real_inputs", shape, axes)
    job.sets = dynamic_axes.gate_sets(shape, axes, real, min(LARGE_BATCH, job.base.max_batch_size))
    job.report = {"source": job.base.training["source"], "checked_shapes": checked_shapes(axes, shape)}
    if "int8" in wanted:
        job.steps = (int8_step(as_array(calibration, "calibration", shape, axes), real, job.top1),)
    job.card = user_card.card_text
    return build_and_install(job, options(repository, tolerances, keep_fp32, wanted, job.base.outputs))


def named_example(example, torch) -> tuple[str, object]:
    if isinstance(example, Mapping):
        if len(example) != 1:
            raise UserInputError(f"the example names {len(example)} inputs ({', '.join(map(str, example))}); "
                                 "visionrt artifacts take one input tensor")
        (input_name, tensor), = example.items()
    else:
        input_name, tensor = "input", example
    if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.float32:
        kind = f"{tensor.dtype} tensor" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise UserInputError(f"the example input '{input_name}' must be a float32 torch tensor, got a {kind}")
    if not str(input_name).isidentifier():
        raise UserInputError(f"the input name {input_name!r} must be an identifier, e.g. 'image'")
    dynamic_axes.layout_of(tensor.shape)
    if len(tensor) == 1:  # torch.export takes a size-1 axis as fixed at 1: trace a dynamic batch at 2
        tensor = tensor.repeat(2, *[1] * (tensor.dim() - 1))
    return str(input_name), tensor.contiguous()


def output_names_of(model, tensor, given, torch) -> tuple[str, ...]:
    """The names the graph's outputs get: the user's, or ``output`` / ``output_0``, ``output_1``, ..."""
    try:
        with torch.no_grad():
            out = model(tensor)
    except Exception as exc:  # the module's own error: a wrong channel count, say
        raise UserInputError(f"{type(model).__name__} fails on the example input {list(tensor.shape)}: "
                             f"{' '.join(str(exc).split())[:300]}") from exc
    count = len(out) if isinstance(out, (tuple, list)) else 1
    if not all(isinstance(o, torch.Tensor) for o in (out if isinstance(out, (tuple, list)) else [out])):
        raise UserInputError(f"{type(model).__name__} returns {type(out).__name__}; export_model takes a model "
                             "that returns a tensor or a tuple of tensors")
    if given is not None:
        if len(given) != count or len(set(given)) != count:
            raise UserInputError(f"output_names {list(given)}: the model returns {count} distinct output(s)")
        return tuple(given)
    return ("output",) if count == 1 else tuple(f"output_{i}" for i in range(count))


def checked_batch(max_batch_size) -> int:
    if not (isinstance(max_batch_size, int) and max_batch_size >= 1):
        raise UserInputError(f"max_batch_size must be a whole number >= 1, got {max_batch_size!r}")
    return max_batch_size


def as_array(value, what: str, shape: tuple, axes: dict) -> np.ndarray | None:
    """The user's network inputs as float32 numpy, batch first, their fixed axes as the example's."""
    if value is None:
        return None
    array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    fixed = [i for i in range(1, len(shape)) if i not in axes]
    if array.ndim != len(shape) or any(array.shape[i] != shape[i] for i in fixed) or len(array) == 0:
        raise UserInputError(f"{what} has shape {list(array.shape)}; expected a batch shaped like the example "
                             f"{list(shape)} (fixed axes {fixed} equal)")
    outside = [f"axis {i} is {array.shape[i]}, outside [{axes[i].low}, {axes[i].high}]" for i in axes
               if i > 0 and not axes[i].low <= array.shape[i] <= axes[i].high]
    if outside:
        raise UserInputError(f"{what} has shape {list(array.shape)}: {'; '.join(outside)}, the range the export "
                             "checks; resize them or widen the range (dynamic=)")
    if array.dtype != np.float32 or not np.isfinite(array).all():
        raise UserInputError(f"{what} must be finite float32 values, got {array.dtype}"
                             + ("" if np.isfinite(array).all() else " with NaN or Inf"))
    return np.ascontiguousarray(array)


def checked_precisions(precisions: Sequence[str], calibration, real_inputs) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(precisions))
    unknown = [p for p in wanted if p not in artifact.PRECISIONS]
    if unknown or "fp32" not in wanted:
        raise UserInputError(f"precisions {list(precisions)}: fp32 and any of {list(artifact.PRECISIONS[1:])}")
    if "int8" in wanted and calibration is not None and len(calibration) < MIN_CALIBRATION:
        raise UserInputError(f"calibration holds {len(calibration)} input(s); INT8 needs at least {MIN_CALIBRATION} "
                             "(a quarter is held back to choose the calibration method)")
    if "int8" in wanted and (calibration is None or real_inputs is None):
        raise UserInputError("precision int8 needs calibration= inputs from the training data to quantize with and "
                             "real_inputs= held-out inputs to gate on")
    if "int8" not in wanted and calibration is not None:
        raise UserInputError("calibration= was given but precisions leaves out 'int8'")
    return wanted


def options(repository, tolerances: Mapping | None, keep_fp32: Sequence[str], wanted: tuple[str, ...],
            outputs: tuple[str, ...]) -> ExportOptions:
    unknown = sorted(set(tolerances or {}) - {"fp32", "fp16"})
    if unknown:
        raise UserInputError(f"tolerances takes 'fp32' and 'fp16', got {unknown} (the INT8 gate's bars are fixed)")
    found = ExportOptions(repository=Path(repository), keep_fp32=tuple(keep_fp32), precisions=wanted)
    for key in ("fp32", "fp16"):
        if key in (tolerances or {}):
            default = getattr(found, f"{key}_tolerance")
            setattr(found, f"{key}_tolerance", per_output(tolerances[key], outputs, default, key))
    return found


def per_output(given, outputs: tuple[str, ...], default: Tolerance, key: str) -> Tolerances:
    """One Tolerance for every output, or by output name with the default for those not named."""
    if isinstance(given, Tolerance):
        return given
    if not isinstance(given, Mapping) or not all(isinstance(v, Tolerance) for v in given.values()):
        raise UserInputError(f"tolerances['{key}'] must be a Tolerance or {{output name: Tolerance}}, got {given!r}")
    unknown = sorted(set(given) - set(outputs))
    if unknown:
        raise UserInputError(f"tolerances['{key}'] names {unknown}, which are not outputs; the outputs are {list(outputs)}")
    each = {output: given.get(output, default) for output in outputs}
    return each[outputs[0]] if len(outputs) == 1 else each


def metadata(name, task, input_name, shape, axes, outputs, max_batch_size, preprocessing, labels, summary, source,
             weights_sha, exporter, opset, torch_version) -> artifact.ArtifactMetadata:
    """The artifact's metadata, passed through the runtime's reader: a task missing what it needs, or a
    preprocessing that does not fit the input, is refused here rather than at load."""
    if not (isinstance(name, str) and name.replace("_", "").replace("-", "").isalnum()):
        raise UserInputError(f"name {name!r}: letters, digits, '_' and '-' only (it names the model's folder)")
    if task is not None and task not in artifact.TASK_NEEDS:  # a misspelt task would lose its API without a word
        raise UserInputError(f"task {task!r}: one of {sorted(artifact.TASK_NEEDS)}, or None for a tensor model "
                             "served by run()")
    prep = preprocessing.to_dict() if isinstance(preprocessing, artifact.Preprocessing) else preprocessing
    doc = {
        "schema": artifact.SCHEMA, "model": name, "task": task, "summary": summary,
        "input": {"name": input_name, "layout": dynamic_axes.layout_of(shape),
                  "shape": list(dynamic_axes.item_shape(shape, axes)), "dtype": "float32"},
        "outputs": list(outputs), "max_batch_size": max_batch_size,
        "dynamic_ranges": {str(i): list(r) for i, r in dynamic_axes.ranges(axes).items()},
        "preprocessing": prep, "labels": list(labels) if labels is not None else None,
        "metrics": {}, "training": {"source": source}, "precision": "fp32",
        "source_weights_sha256": weights_sha, "exporter": exporter, "opset": opset, "torch_version": torch_version,
        "visionrt_version": visionrt.__version__, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
    }
    return artifact.ArtifactMetadata.from_dict({k: v for k, v in doc.items() if v is not None or k == "task"},
                                               f"the export of {name}")


def weights_sha256(model) -> str:
    """A fingerprint of the module's parameters and buffers, by name, in order: what the artifact was made from."""
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_program(model, tensor, axes: dict, path: Path, torch) -> None:
    """The module as a ``torch.export`` program with the same dynamic axes, so the eager baseline can be rebuilt
    without the user's code. The axes are left to torch to bound (``Dim.AUTO``): a U-Net takes only multiples
    of 16, which an explicit range would contradict."""
    try:
        with torch.no_grad():
            program = torch.export.export(model, (tensor,), dynamic_shapes=({index: torch.export.Dim.AUTO
                                                                              for index in axes},))
        torch.export.save(program, str(path))
    except Exception as exc:  # the ONNX exporter has fallbacks that torch.export alone does not
        raise ExportFailedError(f"the ONNX files passed their gates, but torch.export could not save "
                                f"{type(model).__name__} as the eager baseline ({EAGER_FILE}): "
                                f"{' '.join(str(exc).split())[:300]}; nothing was installed") from exc


def checked_shapes(axes: dict, shape: tuple) -> list[list[int]]:
    """Every input shape the gates run, for the report."""
    ends = [[getattr(axes[i], end) if i in axes and i > 0 else size for i, size in enumerate(shape)][1:]
            for end in ("low", "opt", "high")]
    return [list(s) for s in dict.fromkeys(tuple(s) for s in ends)]


def graph_input(proto, path: Path, given=None) -> tuple[str, tuple[int, ...], dict]:
    """(input name, an example shape, dynamic axes) from the graph's declared input; the batch axis must be free.
    ``given``: the user's ranges for the graph's symbolic axes, as export_model's ``dynamic`` takes them."""
    initializers = {init.name for init in proto.graph.initializer}
    inputs = [value for value in proto.graph.input if value.name not in initializers]
    if len(inputs) != 1:
        raise UserInputError(f"{path} has {len(inputs)} inputs ({', '.join(v.name for v in inputs)}); visionrt "
                             "artifacts take one input tensor")
    value = inputs[0]
    if value.type.tensor_type.elem_type != 1:
        raise UserInputError(f"{path}: input '{value.name}' is not float32 (ONNX type {value.type.tensor_type.elem_type})")
    dims = value.type.tensor_type.shape.dim
    sizes = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
    if not sizes or sizes[0] is not None:
        raise UserInputError(f"{path}: input '{value.name}' has shape {sizes} with no free batch axis; visionrt "
                             "needs a dynamic batch (re-export the model with one)")
    dynamic_axes.layout_of(sizes)
    free = [index for index, size in enumerate(sizes) if index > 0 and size is None]
    ranges = {index: (dims[index].dim_param or f"dim{index}", 32, 512) for index in free}
    if given is not None:
        axes = given.get(value.name, given) if isinstance(given, Mapping) else given
        words = dict(axes) if isinstance(axes, Mapping) else {}
        loose = sorted(set(words) - set(free) - {0})
        if loose or not all(isinstance(w, Sequence) and len(w) == 3 for i, w in words.items() if i in free):
            raise UserInputError(f"{path}: dynamic gives ranges (name, min, max) for the graph's symbolic axes "
                                 f"{free} only, got {given!r}")
        ranges.update({index: tuple(words[index]) for index in free if index in words})
    shape = tuple(1 if i == 0 else size or min(max(256, ranges[i][1]), ranges[i][2]) for i, size in enumerate(sizes))
    return value.name, shape, ranges


def int8_step(calibration: np.ndarray, real: np.ndarray, top1: bool):
    """The INT8 file, made in the staging folder from the gated FP32 file, before anything is installed."""

    def step(staging: Path, report: dict) -> None:
        started = time.perf_counter()
        proto, kept, gate = int8.quantize_and_gate(staging / artifact.FILES["fp32"], calibration, {"real": real},
                                                   top1, staging)
        target = staging / artifact.FILES["int8"]
        require("onnx", "train").save(proto, str(target))
        int8.add_to_report(report, target, gate, kept, time.perf_counter() - started)

    return step
