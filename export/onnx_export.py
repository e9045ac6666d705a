"""PyTorch to ONNX with torch's dynamo (torch.export-based) exporter, dynamic batch axis, named I/O.

The exporter is named explicitly (``dynamo=True``) rather than left to torch's default, which changed in
PyTorch 2.9; tests cover this path, the dynamic batch axis included.
"""

import contextlib
import io
import logging
import re
import warnings
from pathlib import Path

from visionrt.errors import ExportFailedError
from visionrt.extras import require

OPSET = 18
EXPORTER = "torch.onnx.export(dynamo=True)"
TESTED_TORCH = "2.13"  # what `make` installs; torch.export's coverage changes between releases


def export_onnx(model, input_name: str, output_names: tuple[str, ...], example, path: Path,
                dynamic_axes: dict[int, str] | None = None) -> Path:
    """Export ``model`` (eval mode) with ``example`` as the tracing input; batch axis 0 is always dynamic."""
    torch = require("torch", "train")
    axes = {0: "batch", **(dynamic_axes or {})}
    dims = {axis: torch.export.Dim(name, min=1, max=4096) for axis, name in axes.items()}
    quiet = io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(quiet), warnings.catch_warnings(), registry_quiet():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export's own deprecation chatter
        try:
            program = torch.onnx.export(
                model.eval(), (example,), None, dynamo=True, opset_version=OPSET, external_data=False,
                input_names=[input_name], output_names=list(output_names),
                dynamic_shapes=(dims,), verbose=False,  # positional: independent of forward()'s argument name
            )
        except Exception as exc:  # torch raises its own TorchExportError, symbolic-shape errors, ...
            raise export_failure(type(model).__name__, torch.__version__, exc) from exc
    program.save(str(path))
    tidy_output_dims(Path(path))
    return Path(path)


@contextlib.contextmanager
def registry_quiet():
    """The exporter logs one warning per torchvision op it cannot register when torchvision is absent
    ("torchvision is not installed. Skipping torchvision::nms", four lines an export): nothing a visionrt
    user can act on, so only its errors come through."""
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry.level
    registry.setLevel(logging.ERROR)
    try:
        yield
    finally:
        registry.setLevel(level)


def export_failure(model_name: str, torch_version: str, exc: Exception) -> ExportFailedError:
    """Torch's one-line summary of the cause (its full message is pages of advice), the op it could not
    translate where it names one, and the versions: torch 2.11's torch.export, for one, cannot export the digit
    reader's LSTM over a dynamic width (unbacked symbols), which 2.13 does."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # torch colours parts of its messages for terminals
    summary = plain.partition("## Exception summary")[2] or plain  # torch's own pointer to the cause
    first = next((line.strip() for line in summary.splitlines() if line.strip()), type(exc).__name__)[:300]
    op = re.search(r"op='([^']+)'", plain)
    named = f"op {op.group(1)} has no ONNX translation at opset {OPSET}; " if op else ""
    tested = f"visionrt's exports are tested with torch {TESTED_TORCH}"
    advice = (f"{tested}, which `make` installs; try that version" if not torch_version.startswith(TESTED_TORCH)
              else f"Rewrite that part of the model with ops ONNX has ({tested}, this version)" if op
              else f"{tested}, this version")
    return ExportFailedError(f"{EXPORTER} failed for {model_name} under torch {torch_version}: {named}{first} "
                             f"({type(exc).__name__}). {advice}.")


def tidy_output_dims(path: Path) -> None:
    """Rename symbolic output dims that the exporter wrote as expressions of the example input (for the
    reader, ``31*Min((width//4), (width//124))``: true only at the traced width) to plain names, so that
    nothing downstream (Triton, TensorRT, a reader of the graph) takes the expression at its word."""
    onnx = require("onnx", "train")
    model = onnx.load(str(path))
    changed = False
    for output in model.graph.output:
        for axis, dim in enumerate(output.type.tensor_type.shape.dim):
            if dim.HasField("dim_param") and not dim.dim_param.isidentifier():
                dim.dim_param, changed = f"{output.name}_dim{axis}", True
    if changed:
        onnx.save(model, str(path))
