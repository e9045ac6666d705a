"""The native TensorRT backend through ``runtime.load``, on the emulated TensorRT and CUDA (tests/support).

The emulated engine runs the FP32 ONNX through ONNX Runtime, so agreement with ONNX Runtime here tests
visionrt's side: engine lookup, tensor binding by name, per-shape buffers, profile checks and errors
(threads: tests/runtime/test_threads.py). TensorRT's own numbers are the real-TensorRT test's job
(tests/export/test_tensorrt_build.py).
"""

import sys

import numpy as np
import pytest

from visionrt import model_zoo, runtime
from visionrt.errors import ArtifactError, BackendUnavailableError
from visionrt.export.tensorrt_build import build_engine
from visionrt.runtime.engine_cache import EngineCache


def build(name: str) -> None:
    """Build the FP16 engine into the default cache, as `visionrt export NAME --trt` would."""
    build_engine(model_zoo.model_dir(name) / "1" / "model_fp16.onnx", EngineCache())


def test_auto_picks_tensorrt_and_says_which_tensorrt_and_gpu(emulated_tensorrt):
    (first, *_) = runtime.available_backends()
    assert first.name == "tensorrt:cuda" and first.available
    assert first.reason == "TensorRT 10.0.0+emulated on Emulated GPU (sm_90)"


def test_loading_before_any_build_says_how_to_build_and_never_builds_lazily(emulated_tensorrt):
    with pytest.raises(BackendUnavailableError, match="no TensorRT engine for digits \\(fp16\\) fits this machine: "
                       "no engine has been built for this model here yet. Build it explicitly with "
                       "`visionrt export digits --trt`"):
        runtime.load("digits")
    assert emulated_tensorrt.builds == []


def test_the_engine_classifies_the_test_split_as_onnx_runtime_does(emulated_tensorrt, digits_test_split):
    build("digits")
    engine = runtime.load("digits", backend="tensorrt")
    reference = runtime.load("digits", backend="onnxruntime:cpu", precision="fp32")
    images = list(digits_test_split[0][:200])
    assert [p.label for p in engine.classify(images)] == [p.label for p in reference.classify(images)]
    described = engine.describe()
    assert (described["backend"], described["precision"], described["gpu"]) == ("tensorrt", "fp16",
                                                                                  "Emulated GPU (sm_90)")
    assert described["engine"].startswith(str(EngineCache().root))


def test_a_dynamic_width_reader_gets_buffers_per_shape_and_refuses_widths_outside_its_profile(emulated_tensorrt):
    build("digit_reader")
    engine = runtime.load("digit_reader", backend="tensorrt")
    reference = runtime.load("digit_reader", backend="onnxruntime:cpu", precision="fp32")
    assert engine.describe()["precision_pins"] == ["node_log_softmax", "node_lstm__2"]
    rng = np.random.default_rng(0)
    for width in (32, 96, 32):
        x = rng.random((2, 1, 16, width), dtype=np.float32)
        np.testing.assert_allclose(engine.run(x), reference.run(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(Exception, match="axis 3 is 2048, outside the artifact's range"):
        engine.run(np.zeros((1, 1, 16, 2048), np.float32))


def test_an_engine_built_for_another_gpu_is_refused_with_what_differs(emulated_tensorrt, emulated_cuda):
    emulated_cuda.gpu, emulated_cuda.capability = "Emulated L4", (8, 9)
    build("digits")
    emulated_cuda.gpu, emulated_cuda.capability = "Emulated GPU", (9, 0)
    with pytest.raises(BackendUnavailableError, match=r"built with TensorRT 10\.0\.0\+emulated for sm_89 \(Emulated "
                       r"L4\), this machine has TensorRT 10\.0\.0\+emulated and sm_90 \(Emulated GPU\)"):
        runtime.load("digits", backend="tensorrt")


def test_an_engine_built_under_tensorrt_10_is_refused_under_11_with_what_differs(emulated_tensorrt, monkeypatch):
    from emulated_tensorrt import EmulatedTensorRT

    build("digits")
    monkeypatch.setitem(sys.modules, "tensorrt", EmulatedTensorRT(11))  # the same machine, TensorRT upgraded
    with pytest.raises(BackendUnavailableError, match=r"built with TensorRT 10\.0\.0\+emulated for sm_90 \(Emulated "
                       r"GPU\), this machine has TensorRT 11\.4\.0\+emulated and sm_90 .*build differs: .*\"typing\": "
                       r"\"weak\".*\"typing\": \"strong\""):
        runtime.load("digits", backend="tensorrt")


def test_on_tensorrt_11_the_reader_runs_the_fp16_graph_strongly_typed(emulated_tensorrt11):
    """The strongly typed engine is built from model_fp16.onnx, so on the emulation (which runs the ONNX it was
    built from) it must agree with ONNX Runtime running that same FP16 file."""
    build("digit_reader")
    engine = runtime.load("digit_reader", backend="tensorrt")
    reference = runtime.load("digit_reader", backend="onnxruntime:cpu", precision="fp16")
    described = engine.describe()
    assert (described["typing"], described["precision_pins"]) == ("strong", ["node_log_softmax", "node_lstm__2"])
    x = np.random.default_rng(0).random((2, 1, 16, 64), dtype=np.float32)
    np.testing.assert_allclose(engine.run(x), reference.run(x), rtol=1e-6, atol=1e-6)


def test_an_engine_tensorrt_will_not_deserialize_is_blamed_on_the_cuda_versions_that_changed(
        emulated_tensorrt, emulated_cuda, monkeypatch):
    build("digits")  # under CUDA 13.0, driver and runtime
    emulated_cuda.driver_version = 12080
    monkeypatch.setattr(emulated_tensorrt.Runtime, "deserialize_cuda_engine", lambda runtime, plan: None)
    with pytest.raises(ArtifactError, match=r"TensorRT could not deserialize .*digits-fp16-.*\.engine \(CUDA driver "
                                            r"13\.0 when built, 12\.8 here\); delete it and rebuild: "
                                            r"`visionrt export digits --trt`"):
        runtime.load("digits", backend="tensorrt")
    emulated_cuda.driver_version = 13000
    with pytest.raises(ArtifactError, match=r"\.engine \(see TensorRT's log above\); delete it and rebuild"):
        runtime.load("digits", backend="tensorrt")


def test_a_corrupted_engine_file_is_refused_not_deserialized(emulated_tensorrt):
    build("digits")
    (engine_file,) = EngineCache().root.glob("digits-*.engine")
    engine_file.write_bytes(engine_file.read_bytes()[:-1])
    with pytest.raises(BackendUnavailableError, match="engine file missing or corrupt"):
        runtime.load("digits", backend="tensorrt")


def test_with_cuda_graphs_each_shape_is_captured_once_and_replayed_with_fresh_inputs(emulated_tensorrt):
    build("digits")
    model = runtime.load("digits", backend="tensorrt", cuda_graph=True)
    reference = runtime.load("digits", backend="onnxruntime:cpu", precision="fp32")
    rng = np.random.default_rng(2)
    for batch in (4, 4, 4, 1, 1, 4):
        x = rng.standard_normal((batch, 1, 8, 8)).astype(np.float32)
        np.testing.assert_allclose(model.run(x), reference.run(x), rtol=1e-5, atol=1e-5)
    assert model.describe()["cuda_graph"] is True


def test_cuda_graphs_on_another_backend_are_refused_by_name():
    from visionrt.errors import UserInputError

    with pytest.raises(UserInputError, match="cuda_graph=True needs the native TensorRT backend, and "
                                             "onnxruntime:cpu was chosen"):
        runtime.load("digits", backend="onnxruntime:cpu", cuda_graph=True)


@pytest.mark.parametrize("emulator", ["emulated_tensorrt", "emulated_tensorrt11"])
def test_the_int8_file_builds_strongly_typed_without_precision_flags_and_runs_as_onnx_runtime_does(
        emulator, request, digits_test_split):
    trt = request.getfixturevalue(emulator)
    build_engine(model_zoo.model_dir("digits") / "1" / "model_int8.onnx", EngineCache())
    (built,) = trt.builds
    assert built["strongly_typed"] and built["flags"] == [] and built["pinned"] == []  # the Q/DQ nodes decide
    engine = runtime.load("digits", backend="tensorrt", precision="int8")
    reference = runtime.load("digits", backend="onnxruntime:cpu", precision="int8")
    images, _ = digits_test_split
    assert engine.precision == "int8"
    assert [p.label for p in engine.classify(list(images[:64]))] == [p.label for p in reference.classify(list(images[:64]))]


def test_int8_stays_refused_on_onnx_runtimes_gpu_providers(emulated_cuda):
    from visionrt.runtime import selection
    from visionrt.runtime.backends import Target

    cuda = Target("onnxruntime", "cuda", True, "emulated", 20)
    with pytest.raises(Exception, match="precision int8 is for CPU targets and native TensorRT"):
        selection.choose_precision("int8", cuda, ["fp32", "fp16", "int8"])
