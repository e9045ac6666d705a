"""Small hand-built ONNX graphs whose FP16 behaviour is known in advance, for the FP16 conversion tests."""

import numpy as np


def _onnx():
    import onnx
    from onnx import helper, numpy_helper

    return onnx, helper, numpy_helper


def _model(nodes, initializers, width: int = 4):
    onnx, helper, _ = _onnx()
    graph = helper.make_graph(nodes, "test", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", width])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", None])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def overflow():
    """y = x * 1e3 * 1e3 * 1e-6: the second product of unit-scale inputs (~1e6) exceeds FP16's 65504."""
    _, helper, numpy_helper = _onnx()
    nodes = [helper.make_node("Mul", ["x", "up"], ["a"], name="scale_up_1"),
             helper.make_node("Mul", ["a", "up"], ["b"], name="scale_up_2"),
             helper.make_node("Mul", ["b", "down"], ["y"], name="scale_down")]
    return _model(nodes, [numpy_helper.from_array(np.array(1e3, np.float32), "up"),
                          numpy_helper.from_array(np.array(1e-6, np.float32), "down")])


def large_weights():
    """y = relu(x W1) W2 with one weight of W2 (1.5e4) beyond the +-1e4 the FP16 converter clips weights to;
    on ``inputs()`` every value stays within FP16's range."""
    _, helper, numpy_helper = _onnx()
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((4, 8)).astype(np.float32)
    w2 = (rng.standard_normal((8, 3)) * 100).astype(np.float32)
    w2[0, 0] = 1.5e4
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="hidden"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], name="head")]
    return _model(nodes, [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])


def inputs(width: int = 4, batch: int = 16) -> dict[str, np.ndarray]:
    return {"x": (np.random.default_rng(1).standard_normal((batch, width)) * 0.5).astype(np.float32)}
