"""Files the runtime cannot serve as they are get a clear error at load; guards that keep the process alive
hold whatever the metadata says."""

import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from visionrt import artifact, model_zoo, runtime
from visionrt.errors import ArtifactError

onnx = pytest.importorskip("onnx", reason="building test graphs needs onnx (visionrt[train])")
from onnx import TensorProto, helper  # noqa: E402


def graph_file(path, inputs, outputs, nodes, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


def test_a_graph_without_inputs_is_refused_at_load(tmp_path):
    value = helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0])
    path = graph_file(tmp_path / "constant.onnx", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
                      [helper.make_node("Constant", [], ["y"], value=value)])
    with pytest.raises(ArtifactError, match="constant.onnx: the graph has no inputs"):
        runtime.load(path)


def test_a_scalar_input_is_refused_at_load(tmp_path):
    path = graph_file(tmp_path / "scalar.onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])], [helper.make_node("Neg", ["x"], ["y"])])
    with pytest.raises(ArtifactError, match="input 'x' is a scalar"):
        runtime.load(path)


def test_a_float64_graph_is_served_and_checked_as_float64(tmp_path):
    path = graph_file(tmp_path / "double.onnx", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 2])],
                      [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 2])],
                      [helper.make_node("Neg", ["x"], ["y"])])
    model = runtime.load(path)
    assert model.run(np.ones((3, 2))).tolist() == [[-1.0, -1.0]] * 3
    with pytest.raises(Exception, match=r"expected float64 of shape \(N, 2\), got float32"):
        model.run(np.ones((3, 2), np.float32))


def relabelled(tmp_path, **changes):
    """The shipped digits FP32 file with its metadata changed, in a folder of its own."""
    proto = onnx.load(str(model_zoo.model_dir("digits") / "1" / "model.onnx"))
    meta = artifact.from_proto(proto, "digits")
    artifact.embed(proto, replace(meta, **changes))
    onnx.save(proto, str(tmp_path / "model.onnx"))
    return tmp_path / "model.onnx"


def test_fewer_labels_than_the_graph_scores_is_refused_at_load(tmp_path):
    path = relabelled(tmp_path, labels=tuple("012345678"))
    with pytest.raises(ArtifactError, match=r"output 'logits' scores 10 classes but the metadata names 9 \(labels\)"):
        runtime.load(path)


def test_metadata_naming_another_input_is_refused_at_load(tmp_path):
    path = relabelled(tmp_path, input=artifact.InputSpec("pixels", "NCHW", (1, 8, 8)))
    with pytest.raises(ArtifactError, match="describes input 'pixels' of rank 4, the graph takes 'image'"):
        runtime.load(path)


def test_an_fp16_file_stripped_of_its_metadata_still_loads_on_the_cpu_without_crashing(tmp_path):
    """ONNX Runtime's NCHWc transformer segfaults on the FP16 reader: the guard must come from the graph."""
    proto = onnx.load(str(model_zoo.model_dir("digit_reader") / "1" / "model_fp16.onnx"))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "reader_fp16.onnx"))
    script = textwrap.dedent(f"""
        import numpy as np
        from visionrt import runtime
        model = runtime.load({str(tmp_path / "reader_fp16.onnx")!r}, backend="onnxruntime:cpu")
        print(model.precision, model.describe()["disabled_optimizers"], model.run(np.zeros((1, 1, 16, 64), np.float32)).shape)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[:2] == ["fp16", "['NchwcTransformer']"]
