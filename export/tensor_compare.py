"""FP16 against FP32 tensor by tensor: where along the graph an FP16 model leaves its FP32 original.

A failed FP16 gate says that the outputs differ; this says where the difference starts, as Polygraphy's
``--mark all`` does. The FP16 converter keeps the FP32 graph's node names, so every float tensor a node
computes in both graphs becomes an output of both, both run on the same inputs, and each tensor is scored
against FP32 by its signal-to-noise ratio. Errors accumulate along the graph: the first tensor under the bar, or the
first holding values FP16 cannot (inf, NaN), is the node to keep in FP32 (``visionrt export --keep-fp32``).
"""

import math
from dataclasses import dataclass

import numpy as np

from visionrt.errors import BackendUnavailableError
from visionrt.extras import require

DEFAULT_MIN_SNR_DB = 40.0  # the image gate's PSNR bar, applied to every intermediate tensor


@dataclass(frozen=True)
class TensorError:
    tensor: str
    node: str  # the FP32 graph's node that produces it
    op_type: str
    snr_db: float  # 10 log10(sum ref^2 / sum (fp16 - ref)^2): inf when equal, -inf with non-finite values
    max_abs_error: float  # over the values finite in both
    reference_max_abs: float
    nonfinite: int  # values FP16 turned into inf or NaN where FP32 was finite
    kept_fp32: bool  # the FP16 file computes this node in FP32

    def diverged(self, min_snr_db: float) -> bool:
        return self.nonfinite > 0 or not self.snr_db >= min_snr_db


def score(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float, float, int]:
    """(SNR dB, max abs error, max |reference|, non-finite count) over the values finite in FP32."""
    reference, candidate = reference.astype(np.float64), candidate.astype(np.float64)
    finite = np.isfinite(reference)
    nonfinite = int((finite & ~np.isfinite(candidate)).sum())
    both = finite & np.isfinite(candidate)
    error = np.abs(candidate[both] - reference[both])
    signal, noise = float(np.sum(reference[both] ** 2)), float(np.sum(error**2))
    if nonfinite:
        snr = -math.inf
    elif noise == 0:
        snr = math.inf
    else:
        snr = 10 * math.log10(signal / noise) if signal > 0 else -math.inf
    peak = float(np.abs(reference[finite]).max()) if finite.any() else 0.0
    return snr, float(error.max()) if error.size else 0.0, peak, nonfinite


def shared_tensors(fp32_proto, fp16_proto, types: dict[str, int] | None = None) -> list[tuple[str, str, str, str]]:
    """(FP32 tensor, FP16 tensor, node, op type) for each float tensor of the FP32 graph that the FP16 graph
    also computes, in the FP32 graph's (topological) node order.

    Outputs are paired through the node that makes them (the converter keeps node names), since a node kept
    in FP32 writes a renamed tensor ("<node>_output_cast_0") that a Cast turns back into the original name;
    the node's own output is the FP32 value it computed. Unnamed nodes are paired by tensor name.
    ``types``: the FP32 graph's ``tensor_types``, where the caller has them.
    """
    onnx = require("onnx", "train")
    types = types if types is not None else tensor_types(fp32_proto)
    by_name = {node.name: node for node in fp16_proto.graph.node if node.name}
    in_fp16 = {name for node in fp16_proto.graph.node for name in node.output}
    pairs = []
    for node in fp32_proto.graph.node:
        twin = by_name.get(node.name) if node.name else None
        same = twin is not None and twin.op_type == node.op_type and len(twin.output) == len(node.output)
        for index, name in enumerate(node.output):
            other = twin.output[index] if same else name if name in in_fp16 else None
            if other and types.get(name) == onnx.TensorProto.FLOAT:
                pairs.append((name, other, node.name or node.op_type, node.op_type))
    return pairs


def tensor_types(model_proto) -> dict[str, int]:
    """Element type of every tensor, from ONNX shape inference."""
    onnx = require("onnx", "train")
    inferred = onnx.shape_inference.infer_shapes(model_proto)
    graph = inferred.graph
    return {info.name: info.type.tensor_type.elem_type for info in [*graph.value_info, *graph.output, *graph.input]}


def copy_model(model_proto):
    copy = type(model_proto)()
    copy.CopyFrom(model_proto)
    return copy


def with_outputs(model_proto, names: list[str], types: dict[str, int] | None = None):
    """A copy of the model whose graph also outputs ``names`` (with their inferred element types, or
    ``types`` where the caller has them)."""
    onnx = require("onnx", "train")
    marked = copy_model(model_proto)
    types = types if types is not None else tensor_types(model_proto)
    present = {output.name for output in marked.graph.output}
    marked.graph.output.extend(onnx.helper.make_tensor_value_info(name, types[name], None)
                               for name in names if name not in present and name in types)
    return marked


def run_marked(model_proto, names: list[str], feeds: dict[str, np.ndarray], device: str,
               types: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Run the model with ``names`` marked as outputs on ONNX Runtime's ``device`` provider."""
    from visionrt.runtime.backends.ort import PROVIDERS, provider_missing

    ort = require("onnxruntime", None)
    problem = provider_missing(ort, device)
    if problem:
        raise BackendUnavailableError(f"cannot compare on {device}: {problem}")
    provider = PROVIDERS[device][0]
    # NchwcTransformer: the runtime's workaround for ONNX Runtime 1.32's crash on FP16 graphs with FP32
    # islands (backends.ort.disabled_optimizers); switched off for both files so that both run alike.
    session = ort.InferenceSession(with_outputs(model_proto, names, types).SerializeToString(),
                                   providers=[provider, "CPUExecutionProvider"] if device != "cpu" else [provider],
                                   disabled_optimizers=["NchwcTransformer"])
    outputs = [output.name for output in session.get_outputs()]
    return dict(zip(outputs, session.run(None, feeds)))


def compare_tensors(fp32_proto, fp16_proto, feeds: dict[str, np.ndarray], kept: list[str] = (),
                    device: str = "cpu") -> list[TensorError]:
    """Every shared float tensor scored FP16 against FP32, in graph order. ``kept``: the FP16 file's
    FP32 node names (its metadata's ``fp32_nodes``)."""
    types = tensor_types(fp32_proto)
    shared, kept = shared_tensors(fp32_proto, fp16_proto, types), set(kept)
    reference = run_marked(fp32_proto, [name for name, _, _, _ in shared], feeds, device, types)
    candidate = run_marked(fp16_proto, [other for _, other, _, _ in shared], feeds, device)
    return [TensorError(name, node, op_type, *score(reference[name], candidate[other]), kept_fp32=node in kept)
            for name, other, node, op_type in shared if name in reference and other in candidate]


def first_divergence(rows: list[TensorError], min_snr_db: float = DEFAULT_MIN_SNR_DB) -> TensorError | None:
    return next((row for row in rows if row.diverged(min_snr_db)), None)


def format_snr(snr_db: float) -> str:
    return "exact" if snr_db == math.inf else "inf/NaN" if snr_db == -math.inf else f"{snr_db:.1f} dB"


def describe(row: TensorError, label: str = "FP16") -> str:
    held = f", {row.nonfinite} values {label} turned into inf/NaN" if row.nonfinite else ""
    where = ("kept FP32" if label == "FP16" else "kept float") if row.kept_fp32 else label
    return (f"'{row.tensor}' from node '{row.node}' ({row.op_type}, {where}): SNR {format_snr(row.snr_db)}, "
            f"max abs error {row.max_abs_error:.3g} on values up to {row.reference_max_abs:.3g}{held}")


def summary(rows: list[TensorError], min_snr_db: float = DEFAULT_MIN_SNR_DB, worst: int = 3,
            label: str = "FP16") -> str:
    """A few lines for an error message: where the ``label`` file (FP16 or INT8) first falls under the bar, and the
    worst others."""
    under = [row for row in rows if row.diverged(min_snr_db)]
    if not under:
        lowest = min(rows, key=lambda row: row.snr_db, default=None)
        return (f"every one of {len(rows)} shared tensors stays at or above {min_snr_db:g} dB SNR"
                + (f"; lowest: {describe(lowest, label)}" if lowest else ""))
    first, ranked = under[0], sorted(under[1:], key=lambda row: (-row.nonfinite, row.snr_db))
    lines = [f"{len(under)} of {len(rows)} shared tensors under {min_snr_db:g} dB; the first: {describe(first, label)}",
             *(f"also under: {describe(row, label)}" for row in ranked[:worst])]
    if not first.kept_fp32 and label == "FP16":
        lines.append(f"to compute it in FP32: --keep-fp32 {first.node} (that node) or --keep-fp32 {first.op_type} "
                     "(every node of that type)")
    return "\n".join(lines)


def table(rows: list[TensorError], min_snr_db: float = DEFAULT_MIN_SNR_DB, label: str = "FP16") -> str:
    """Markdown, one row per tensor in graph order; diverged rows marked."""
    lines = ["| # | tensor | node | op | computed in | SNR | max abs error | max abs FP32 | inf/NaN |",
             "|---|---|---|---|---|---|---|---|---|"]
    for index, row in enumerate(rows):
        mark = " **under the bar**" if row.diverged(min_snr_db) else ""
        lines.append(f"| {index} | {row.tensor} | {row.node} | {row.op_type} | {'FP32' if row.kept_fp32 else label} | "
                     f"{format_snr(row.snr_db)}{mark} | {row.max_abs_error:.3g} | {row.reference_max_abs:.3g} | "
                     f"{row.nonfinite} |")
    return "\n".join(lines)
