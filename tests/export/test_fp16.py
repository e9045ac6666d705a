"""FP16 conversion: risky ops and named nodes computed in FP32 on FP32 weights, clipped weights counted."""

import numpy as np
import pytest

from visionrt.errors import UserInputError
from visionrt.export import fp16, tensor_compare

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxconverter_common")
fp16_graphs = pytest.importorskip("fp16_graphs")


def initializer_types(model) -> dict[str, int]:
    return {i.name: i.data_type for i in model.graph.initializer}


def test_weights_beyond_the_converters_clip_are_counted_per_weight():
    conversion = fp16.convert_to_fp16(fp16_graphs.large_weights())
    w2 = onnx.numpy_helper.to_array(fp16_graphs.large_weights().graph.initializer[1])
    assert conversion.clipped == {"w2": int((np.abs(w2) > fp16.CLIP).sum())} and conversion.clipped["w2"] > 0


def test_a_node_kept_by_name_computes_on_its_fp32_weights_and_its_weights_are_not_clipped():
    conversion = fp16.convert_to_fp16(fp16_graphs.large_weights(), keep=("head",))
    assert initializer_types(conversion.model) == {"w1": onnx.TensorProto.FLOAT16, "w2": onnx.TensorProto.FLOAT}
    assert conversion.clipped == {} and "head" in conversion.kept
    onnx.checker.check_model(conversion.model, full_check=True)
    rows = tensor_compare.compare_tensors(fp16_graphs.large_weights(), conversion.model, fp16_graphs.inputs())
    assert tensor_compare.first_divergence(rows) is None


def test_an_op_type_in_keep_keeps_every_node_of_that_type():
    conversion = fp16.convert_to_fp16(fp16_graphs.overflow(), keep=("Mul",))
    assert sorted(conversion.kept) == ["scale_down", "scale_up_1", "scale_up_2"]


def test_a_weight_shared_with_a_node_kept_by_name_stays_fp16_for_the_fp16_nodes():
    # onnxconverter-common alone leaves 'up' FP32 for the FP16 node scale_up_1 too: ONNX Runtime refuses that graph.
    conversion = fp16.convert_to_fp16(fp16_graphs.overflow(), keep=("scale_up_2", "scale_down"))
    onnx.checker.check_model(conversion.model, full_check=True)
    readers = {node.name: list(node.input) for node in conversion.model.graph.node}
    types = initializer_types(conversion.model)
    assert types[readers["scale_up_1"][1]] == onnx.TensorProto.FLOAT16
    assert types[readers["scale_up_2"][1]] == onnx.TensorProto.FLOAT
    rows = tensor_compare.compare_tensors(fp16_graphs.overflow(), conversion.model, fp16_graphs.inputs(),
                                       conversion.kept)
    assert [row.kept_fp32 for row in rows] == [False, True, True]
    assert all(row.nonfinite == 0 for row in rows)


def test_a_keep_name_the_graph_lacks_is_refused_with_the_op_types_it_has():
    with pytest.raises(UserInputError, match="--keep-fp32 Conv: no node or op type .* its op types are Mul"):
        fp16.convert_to_fp16(fp16_graphs.overflow(), keep=("scale_up_1", "Conv"))


def test_kept_normalization_layers_of_the_style_model_read_fp32_weights():
    from visionrt import model_zoo

    conversion = fp16.convert_to_fp16(onnx.load(str(model_zoo.model_dir("style") / "1" / "model.onnx")))
    types = initializer_types(conversion.model)
    norms = [node for node in conversion.model.graph.node if node.op_type == "InstanceNormalization"]
    assert norms and all(types[name] == onnx.TensorProto.FLOAT for node in norms for name in node.input[1:])
    onnx.checker.check_model(conversion.model, full_check=True)


def test_the_fp16_copy_of_a_shared_weight_is_clipped_and_counted_like_any_fp16_weight():
    _, helper, numpy_helper = fp16_graphs._onnx()
    big = numpy_helper.from_array(np.full((4,), 3e4, np.float32), "big")
    nodes = [helper.make_node("Mul", ["x", "big"], ["a"], name="fp16_mul"),
             helper.make_node("Mul", ["a", "big"], ["y"], name="kept_mul")]
    conversion = fp16.convert_to_fp16(fp16_graphs._model(nodes, [big]), keep=("kept_mul",))
    copies = {i.name: onnx.numpy_helper.to_array(i) for i in conversion.model.graph.initializer}
    assert copies["big"].dtype == np.float32 and (copies["big"] == 3e4).all()
    assert copies["big_fp16"].dtype == np.float16 and (copies["big_fp16"] == fp16.CLIP).all()
    assert conversion.clipped == {"big": 4}
