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
    converted = float16.convert_float_to_float16(
        model_proto, keep_io_types=True, op_block_list=block_list, disable_shape_infer=False
    )
    kept = [node.name or node.op_type for node in model_proto.graph.node if node.op_type in block_list]
    return converted, kept
