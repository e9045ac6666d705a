"""Which layers an FP16 engine pins to FP32, and the native TensorRT path where TensorRT exists."""

import importlib.util

import numpy as np
import pytest

from visionrt import model_zoo
from visionrt.export.tensorrt_build import layers_to_pin

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def test_layers_made_from_fp32_kept_nodes_are_pinned_with_their_suffixes():
    layers = [("node_lstm", "RNN_V2"), ("node_lstm_1", "SHUFFLE"), ("node_conv", "CONVOLUTION"),
              ("node_conv_relu", "ACTIVATION"), ("node_softmax", "SOFTMAX"), ("norm/instancenorm", "NORMALIZATION")]
    pinned = layers_to_pin(layers, fp32_nodes=["node_lstm"])
    assert pinned == ["node_lstm", "node_lstm_1", "node_softmax", "norm/instancenorm"]


def test_a_node_name_prefix_of_another_does_not_pin_it():
    assert layers_to_pin([("node_conv2", "CONVOLUTION")], fp32_nodes=["node_conv"]) == []


def test_a_kept_nodes_extra_layers_are_pinned_but_not_a_longer_name_it_begins():
    layers = [("node_add", "ELEMENTWISE"), ("node_add_12", "SHUFFLE"), ("node_add_x", "ELEMENTWISE")]
    assert layers_to_pin(layers, fp32_nodes=["node_add"]) == ["node_add", "node_add_12"]


@pytest.mark.parametrize("name", [n for n in model_zoo.names() if model_zoo.installed(n)])
def test_each_zoo_models_fp16_pins_name_exactly_its_fp32_kept_nodes(name):
    """The parser names layers after the FP32 ONNX's nodes: pinning over those names must hit exactly the
    nodes the FP16 export kept in FP32 (its metadata's list), no more, no fewer."""
    onnx = pytest.importorskip("onnx")
    from visionrt.runtime.backends.tensorrt import read_onnx_metadata

    version = model_zoo.model_dir(name) / "1"
    kept = read_onnx_metadata(version / "model_fp16.onnx").get("fp32_nodes", [])
    graph = onnx.load(str(version / "model.onnx"), load_external_data=False).graph
    assert sorted(layers_to_pin([(node.name, "ONNX_NODE") for node in graph.node], kept)) == sorted(kept)


def test_the_fp16_backend_builds_from_the_fp32_onnx_with_the_fp16_pins(shipped_dir):
    from visionrt.runtime.backends.tensorrt import build_options, build_source

    fp16 = shipped_dir / "1" / "model_fp16.onnx"
    source, precision = build_source(fp16, {"precision": "fp16"})
    assert (source.name, precision) == ("model.onnx", "fp16")
    assert build_options({"fp32_nodes": ["b", "a"]}, "fp16")["fp32_nodes"] == ["a", "b"]
    assert build_options({"fp32_nodes": ["b", "a"]}, "fp32")["fp32_nodes"] == []


@pytest.mark.tensorrt
@pytest.mark.skipif(not HAS_TENSORRT, reason="TensorRT is not installed here (it needs NVIDIA's package index and a GPU)")
def test_engine_matches_onnxruntime_on_the_digits(tmp_path, shipped_dir, digits_test_split):
    from visionrt import runtime
    from visionrt.export.tensorrt_build import build_engine
    from visionrt.runtime.backends.tensorrt import TensorRTBackend
    from visionrt.runtime.engine_cache import EngineCache

    cache = EngineCache(tmp_path)
    build_engine(shipped_dir / "1" / "model_fp16.onnx", cache)
    target = next(t for t in runtime.available_backends() if t.name == "tensorrt:cuda")
    engine = TensorRTBackend(shipped_dir / "1" / "model_fp16.onnx", target, cache=cache)
    reference = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision="fp32")
    images = runtime.tasks.images.preprocess(list(digits_test_split[0]), reference.info.preprocessing)
    got = np.concatenate([engine.run({"image": images[i : i + 64]})[0] for i in range(0, len(images), 64)])
    assert (got.argmax(1) == reference.run(images).argmax(1)).mean() >= 0.999
