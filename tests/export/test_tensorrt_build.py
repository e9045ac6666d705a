"""Which layers an FP16 engine pins to FP32, and the native TensorRT path where TensorRT exists."""

import importlib.util
import json
from dataclasses import replace

import numpy as np
import pytest

from visionrt import model_zoo
from visionrt.export.tensorrt_build import layers_to_pin
from visionrt.hashing import sha256_file

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
    kept = list(read_onnx_metadata(version / "model_fp16.onnx").fp32_nodes)
    graph = onnx.load(str(version / "model.onnx"), load_external_data=False).graph
    assert sorted(layers_to_pin([(node.name, "ONNX_NODE") for node in graph.node], kept)) == sorted(kept)


def test_a_weakly_typed_fp16_engine_builds_from_the_fp32_onnx_with_the_fp16_pins(shipped_dir):
    from visionrt.runtime.backends.tensorrt import build_options, build_source, read_onnx_metadata

    fp16 = shipped_dir / "1" / "model_fp16.onnx"
    meta = replace(read_onnx_metadata(fp16), fp32_nodes=("b", "a"))
    source, precision = build_source(fp16, meta, "weak")
    assert (source.name, precision) == ("model.onnx", "fp16")
    assert build_options(meta, "fp16", "weak")["fp32_nodes"] == ["a", "b"]
    assert build_options(meta, "fp32", "weak")["fp32_nodes"] == []


def test_a_strongly_typed_fp16_engine_builds_from_the_fp16_onnx_itself(shipped_dir):
    from visionrt.runtime.backends.tensorrt import build_options, build_source, read_onnx_metadata

    fp16 = shipped_dir / "1" / "model_fp16.onnx"
    meta = replace(read_onnx_metadata(fp16), fp32_nodes=("b", "a"))
    assert build_source(fp16, meta, "strong") == (fp16, "fp16")
    assert build_options(meta, "fp16", "strong") == {
        "typing": "strong", "workspace_bytes": 1 << 30, "fp32_nodes": ["a", "b"], "optimization_level": 3}


@pytest.mark.parametrize("version, typing", [("10.0.1", "weak"), ("10.13.3.9", "weak"), ("11.0.0", "strong"),
                                             ("11.4.0+emulated", "strong"), ("12.1", "strong"), ("dev", "weak")])
def test_tensorrt_11_and_later_build_strongly_typed_since_weak_typing_was_removed(version, typing):
    from visionrt.runtime.backends.tensorrt import typing_for

    assert typing_for(version) == typing


@pytest.mark.tensorrt
@pytest.mark.skipif(not HAS_TENSORRT, reason="TensorRT is not installed here (it needs NVIDIA's package index and a GPU)")
@pytest.mark.parametrize("onnx_file", ["model_fp16.onnx", "model_int8.onnx"])
def test_engine_matches_onnxruntime_on_the_digits(onnx_file, tmp_path, shipped_dir, digits_test_split):
    from visionrt import artifact, runtime
    from visionrt.export.tensorrt_build import build_engine
    from visionrt.runtime.backends.tensorrt import TensorRTBackend
    from visionrt.runtime.engine_cache import EngineCache

    cache = EngineCache(tmp_path)
    build_engine(shipped_dir / "1" / onnx_file, cache)
    target = next(t for t in runtime.available_backends() if t.name == "tensorrt:cuda")
    engine = TensorRTBackend(artifact.read(shipped_dir / "1" / onnx_file), target, cache=cache)
    reference = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision="fp32")
    images = runtime.tasks.images.preprocess(list(digits_test_split[0]), reference.metadata.preprocessing)
    got = np.concatenate([engine.run({"image": images[i : i + 64]})[0] for i in range(0, len(images), 64)])
    assert (got.argmax(1) == reference.run(images).argmax(1)).mean() >= 0.999


# What the builder is asked for, on the emulated TensorRT (tests/support): the calls, not TensorRT's behaviour.

def build(name: str, precision: str, cache_root, **options):
    from visionrt.export.tensorrt_build import build_engine
    from visionrt.runtime.engine_cache import EngineCache

    onnx_file = {"fp16": "model_fp16.onnx", "fp32": "model.onnx"}[precision]
    return build_engine(model_zoo.model_dir(name) / "1" / onnx_file, EngineCache(cache_root), **options)


def test_an_fp16_build_asks_for_fp16_with_obeyed_fp32_pins_the_profile_and_the_workspace(emulated_tensorrt, tmp_path,
                                                                                         capsys):
    from visionrt.runtime.backends.tensorrt import read_onnx_metadata
    from visionrt.runtime.engine_cache import EngineCache
    from visionrt.runtime.profiles import profile_from_metadata

    meta = read_onnx_metadata(model_zoo.model_dir("digit_reader") / "1" / "model_fp16.onnx")
    engine = build("digit_reader", "fp16", tmp_path, workspace=1 << 28)
    (request,) = emulated_tensorrt.builds
    assert request["flags"] == ["FP16", "OBEY_PRECISION_CONSTRAINTS"] and request["workspace"] == 1 << 28
    assert not request["strongly_typed"] and request["onnx_sha256"] == sha256_file(
        model_zoo.model_dir("digit_reader") / "1" / "model.onnx")
    profile = profile_from_metadata(meta)
    assert request["profiles"] == [{profile.input_name: [list(profile.min), list(profile.opt), list(profile.max)]}]
    # The LSTM's two layers and the LogSoftmax: the nodes the FP16 export kept in FP32, found by layer name.
    assert sorted(request["pinned"]) == ["node_log_softmax", "node_lstm__2", "node_lstm__2_1"]
    assert engine.parent == tmp_path and engine.name.startswith("digit_reader-fp16-sm90-trt10.0.0+emulated-")
    assert EngineCache(tmp_path).metadata(engine) == meta
    out = capsys.readouterr().out
    assert ("building TensorRT 10.0.0+emulated fp16 engine for digit_reader on Emulated GPU from model.onnx "
            "(weakly typed, 2 nodes pinned to FP32)") in out
    assert "[tensorrt] Building engine (emulated): 1 steps" in out and f"engine written to {engine}" in out


def test_on_tensorrt_11_an_fp16_build_is_strongly_typed_from_the_fp16_onnx_with_no_flags_or_pins(
        emulated_tensorrt11, tmp_path, capsys):
    """TensorRT 11 has no FP16 flag and refuses per-layer precisions (the emulation raises on either): the
    FP32 islands the FP16 export kept are Casts in the FP16 graph, which the strongly typed network follows."""
    fp16 = model_zoo.model_dir("digit_reader") / "1" / "model_fp16.onnx"
    engine = build("digit_reader", "fp16", tmp_path)
    (request,) = emulated_tensorrt11.builds
    assert request["flags"] == [] and request["pinned"] == [] and request["strongly_typed"]
    assert request["onnx_sha256"] == sha256_file(fp16)
    assert engine.name.startswith("digit_reader-fp16-sm90-trt11.4.0+emulated-")
    assert ("building TensorRT 11.4.0+emulated fp16 engine for digit_reader on Emulated GPU from model_fp16.onnx "
            "(strongly typed: the graph's own types, 2 nodes FP32)") in capsys.readouterr().out


def test_an_fp32_build_sets_no_precision_flag_and_pins_nothing(emulated_tensorrt, tmp_path):
    build("digit_reader", "fp32", tmp_path)
    (request,) = emulated_tensorrt.builds
    assert request["flags"] == [] and request["pinned"] == []


def test_building_again_for_the_same_machine_reuses_the_engine(emulated_tensorrt, tmp_path, capsys):
    first = build("digits", "fp16", tmp_path)
    assert build("digits", "fp16", tmp_path) == first
    assert len(emulated_tensorrt.builds) == 1
    assert f"engine already built for this machine: {first}" in capsys.readouterr().out


def test_the_timing_cache_persists_into_the_next_build(emulated_tensorrt, tmp_path):
    build("digits", "fp16", tmp_path)
    timing = tmp_path / "timing-10.0.0+emulated-sm90.cache"
    assert json.loads(timing.read_text()) == {"timing_entries": 1}
    build("digits", "fp32", tmp_path)
    assert [b["timing_entries_in"] for b in emulated_tensorrt.builds] == [0, 1]
    assert json.loads(timing.read_text()) == {"timing_entries": 2}


def test_a_timing_cache_from_another_device_is_replaced_not_reused_and_the_engine_still_lands(emulated_tensorrt,
                                                                                              tmp_path, capsys):
    timing = tmp_path / "timing-10.0.0+emulated-sm90.cache"
    timing.write_text(json.dumps({"timing_entries": 7, "foreign": True}))
    engine = build("digits", "fp16", tmp_path)
    assert emulated_tensorrt.builds[0]["timing_entries_in"] == 0 and engine.is_file()
    assert json.loads(timing.read_text()) == {"timing_entries": 1}
    assert "timing cache timing-10.0.0+emulated-sm90.cache was recorded on another device or CUDA version; " \
           "starting an empty one" in capsys.readouterr().out


@pytest.mark.parametrize("failure", ["parser", "profile", "builder"])
def test_a_failed_build_says_why_and_leaves_the_caches_as_they_were(emulated_tensorrt, tmp_path, monkeypatch,
                                                                   failure):
    from visionrt.errors import ArtifactError

    build("digits", "fp32", tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    if failure == "parser":
        monkeypatch.setattr(emulated_tensorrt.OnnxParser, "parse",
                            lambda parser, model: parser.errors.append("unsupported op 'Foo'") or False)
        expected = r"parser rejected .*digits/1/model\.onnx: unsupported op 'Foo'"
    elif failure == "profile":
        monkeypatch.setattr(emulated_tensorrt.IBuilderConfig, "add_optimization_profile", lambda config, profile: -1)
        expected = r"refused the optimization profile for 'image': min \(1, 1, 8, 8\), opt \(8, 1, 8, 8\), max"
    else:
        emulated_tensorrt.fail_build = True
        expected = r"failed to build an engine from .*digits/1/model\.onnx"
    with pytest.raises(ArtifactError, match=expected):
        build("digits", "fp16", tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_the_export_command_builds_into_the_cache_it_is_given(emulated_tensorrt, tmp_path):
    from visionrt import cli

    assert cli.main(["export", "digits", "--trt", "--engine-cache", str(tmp_path)]) == 0
    assert [p.name.split("-")[:2] for p in tmp_path.glob("*.engine")] == [["digits", "fp16"]]
