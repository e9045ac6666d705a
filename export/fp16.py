"""The FP16 ONNX variant: FP16 weights and compute, FP32 inputs and outputs, risky ops kept in FP32."""

import warnings
from dataclasses import dataclass
from typing import Any

from visionrt.errors import UserInputError
from visionrt.extras import require

# Ops whose FP16 form overflows or loses too much (reductions over many values, exponentials, recurrences):
# normalization layers sum squares (FP16 max is 65504), softmax exponentiates. Kept FP32, like
# onnxconverter-common's own list (Resize, TopK, Range, ...), which is added to this one.
KEEP_FP32_OPS = (
    "InstanceNormalization", "LayerNormalization", "GroupNormalization", "ReduceMean", "ReduceSum",
    "Softmax", "LogSoftmax", "Exp", "Pow",
    # Recurrent layers: ONNX Runtime has no FP16 CPU kernels for them, and their state accumulates
    # rounding over every step of a sequence.
    "LSTM", "GRU", "RNN",
)
# onnxconverter-common's max_finite_val: it clips FP16 weights to +-1e4 (below FP16's 65504, for headroom),
# and says so only in one warning per value. The clipped weights are counted and reported instead.
CLIP = 1e4


@dataclass(frozen=True)
class Conversion:
    model: Any  # the FP16 onnx.ModelProto
    kept: list[str]  # nodes computed in FP32 (their names; the op type for unnamed nodes); go into the metadata
    clipped: dict[str, int]  # FP16 initializer -> how many of its values were clipped to +-CLIP


def convert_to_fp16(model_proto, keep: tuple[str, ...] = ()) -> Conversion:
    """Convert to FP16 with the risky ops, and whatever ``keep`` names (op types or node names), in FP32.

    A kept node computes in FP32 on FP32 weights: onnxconverter-common stores every weight in FP16 and casts
    a kept node's back up, which rounds them and clips any beyond +-1e4, so those weights are restored.
    """
    float16 = require("onnxconverter_common.float16", "train")
    onnx, numpy_helper = require("onnx", "train"), require("onnx.numpy_helper", "train")
    op_types, node_names = split_keep(model_proto.graph, keep)
    block_list = sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(KEEP_FP32_OPS) | op_types)
    original_outputs = {o.name: o.type.tensor_type.elem_type for o in model_proto.graph.output}
    weights = {i.name: numpy_helper.to_array(i).copy() for i in model_proto.graph.initializer
               if i.data_type == onnx.TensorProto.FLOAT}
    kept = [node.name or node.op_type for node in model_proto.graph.node
            if node.op_type in block_list or node.name in node_names]
    with warnings.catch_warnings():  # one warning per clipped value; counted below instead
        warnings.filterwarnings("ignore", message="the float32 number", category=UserWarning)
        converted = float16.convert_float_to_float16(
            model_proto, keep_io_types=True, op_block_list=block_list, node_block_list=sorted(node_names),
            disable_shape_infer=False)
    restore_fp32_outputs(converted, original_outputs)
    copies = give_fp16_nodes_fp16_weights(converted, set(kept), node_names)
    restore_fp32_weights(converted, weights)
    still_fp16 = {i.name for i in converted.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
    clipped = {name: int((abs(array) > CLIP).sum()) for name, array in weights.items()
               if name in still_fp16 or copies.get(name) in still_fp16}
    return Conversion(converted, kept, {name: count for name, count in clipped.items() if count})


def split_keep(graph, keep: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """(op types, node names) among ``keep``; a name that is neither is refused with what the graph has."""
    op_types = {node.op_type for node in graph.node}
    node_names = {node.name for node in graph.node if node.name}
    unknown = [name for name in keep if name not in op_types and name not in node_names]
    if unknown:
        raise UserInputError(f"--keep-fp32 {' '.join(unknown)}: no node or op type of that name in the graph; "
                             f"its op types are {', '.join(sorted(op_types))} (node names: `visionrt compare MODEL`)")
    return {name for name in keep if name in op_types}, {name for name in keep if name in node_names}


def give_fp16_nodes_fp16_weights(model_proto, kept: set[str], named: set[str]) -> dict[str, str]:
    """Give an FP16 node its own FP16 copy (clipped as the converter clips) of a weight it shares with a
    node kept by name; return {weight: its copy}.

    onnxconverter-common 1.16 leaves a weight FP32 when any node reading it is in ``node_block_list``, and
    the FP16 nodes reading the same weight then mix FP16 and FP32 inputs, a graph ONNX Runtime refuses.
    ``kept``: every node computed in FP32; ``named``: those kept by name.
    """
    onnx, numpy_helper = require("onnx", "train"), require("onnx.numpy_helper", "train")
    graph = model_proto.graph
    read_by_named = {name for node in graph.node if node.name in named for name in node.input}
    fp32 = {i.name: i for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT and i.name in read_by_named}
    copies = {}
    for node in graph.node:
        if node.op_type == "Cast" or (node.name or node.op_type) in kept:
            continue
        for index, name in enumerate(node.input):
            if name in fp32:
                if name not in copies:
                    copies[name] = f"{name}_fp16"
                    half = numpy_helper.to_array(fp32[name]).clip(-CLIP, CLIP).astype("float16")
                    graph.initializer.append(numpy_helper.from_array(half, copies[name]))
                node.input[index] = copies[name]
    return copies


def restore_fp32_weights(model_proto, weights: dict) -> list[str]:
    """Give kept nodes their FP32 weights back; return the names of the weights restored.

    The converter leaves each such weight as FP16 initializer -> Cast(to FLOAT) -> kept node. Where every
    consumer of the initializer is such a Cast, the FP32 original replaces it and the Casts go.
    """
    onnx, numpy_helper = require("onnx", "train"), require("onnx.numpy_helper", "train")
    graph = model_proto.graph
    initializers = {i.name: i for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    restored = []
    for name, initializer in initializers.items():
        users = consumers.get(name, [])
        if name not in weights or not users or not all(is_cast_to_float(node) for node in users):
            continue
        initializer.CopyFrom(numpy_helper.from_array(weights[name], name))
        for cast in users:
            rename_input(graph, cast.output[0], name)
            graph.node.remove(cast)
        stale = {name, *(cast.output[0] for cast in users)}  # the converter declared them FP16 / FP32
        kept_info = [info for info in graph.value_info if info.name not in stale]
        del graph.value_info[:]
        graph.value_info.extend(kept_info)
        restored.append(name)
    return restored


def is_cast_to_float(node) -> bool:
    onnx = require("onnx", "train")
    return node.op_type == "Cast" and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in node.attribute)


def rename_input(graph, old: str, new: str) -> None:
    """Every node that reads ``old`` reads ``new`` instead (graph outputs are never a weight's Cast)."""
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name == old:
                node.input[index] = new


def restore_fp32_outputs(model_proto, original: dict[str, int]) -> None:
    """Make every graph output that was FP32 FP32 again.

    onnxconverter-common 1.16 gets this wrong when the node producing a graph output is one it keeps in
    FP32 (a final LogSoftmax, say): it casts that node's FP32 result to FP16 and declares the output FP16,
    despite ``keep_io_types``, and ONNX Runtime 1.32 crashes loading the result. The stray Cast is turned
    back into a Cast to FP32.
    """
    onnx = require("onnx", "train")
    producers = {name: node for node in model_proto.graph.node for name in node.output}
    for output in model_proto.graph.output:
        was = original.get(output.name)
        if was != onnx.TensorProto.FLOAT or output.type.tensor_type.elem_type == was:
            continue
        node = producers.get(output.name)
        if node is None or node.op_type != "Cast":
            raise ValueError(f"FP16 conversion left output '{output.name}' FP16 and it is not produced by a Cast")
        for attribute in node.attribute:
            if attribute.name == "to":
                attribute.i = onnx.TensorProto.FLOAT
        output.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
