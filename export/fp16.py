"""The FP16 ONNX variant: FP16 weights and compute, FP32 inputs and outputs, risky ops kept in FP32."""

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


def convert_to_fp16(model_proto):
    """Return (fp16 model, names of nodes kept in FP32); the node list travels into the metadata."""
    float16 = require("onnxconverter_common.float16", "train")
    block_list = sorted(set(float16.DEFAULT_OP_BLOCK_LIST) | set(KEEP_FP32_OPS))
    original_outputs = {o.name: o.type.tensor_type.elem_type for o in model_proto.graph.output}
    converted = float16.convert_float_to_float16(
        model_proto, keep_io_types=True, op_block_list=block_list, disable_shape_infer=False
    )
    restore_fp32_outputs(converted, original_outputs)
    kept = [node.name or node.op_type for node in model_proto.graph.node if node.op_type in block_list]
    return converted, kept


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
