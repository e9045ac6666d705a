"""ONNX Runtime's GPU providers count as available only where they can start.

onnxruntime-gpu lists its CUDA and TensorRT providers on any machine; the backend loads each provider's
library as ONNX Runtime would and reports what the loader says. The fake onnxruntime below is a real
package folder: its provider libraries are a copy of a shared library that loads (libm) or a file that
does not, so the dynamic loader itself gives the verdicts. The GPU tests at the end run the real CUDA
provider where onnxruntime-gpu and a GPU exist.
"""

import shutil
import types
from pathlib import Path

import numpy as np
import pytest

from visionrt import artifact, runtime
from visionrt.errors import ArtifactError, BackendUnavailableError, UserInputError
from visionrt.runtime.backends import ort as ort_backend
from visionrt.runtime.backends.ort_providers import library_file
from visionrt.runtime.selection import choose_target

GPU_BUILD = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def a_loadable_library() -> Path:
    """libm as this process maps it (Python links it): a copy of it loads from any folder."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "/libm.so" in line or "/libm-" in line:
            return Path(line.split()[-1])
    pytest.skip("no libm mapped in this process to stand in for a provider library")


def fake_onnxruntime(folder: Path, loads: dict[str, bool], preload_prints: str = "") -> types.ModuleType:
    """An onnxruntime-gpu lookalike whose provider libraries load where ``loads`` says so."""
    capi = folder / "onnxruntime" / "capi"
    capi.mkdir(parents=True)
    for provider, ok in {"shared": True, **loads}.items():
        target = capi / library_file(provider)
        if ok:
            shutil.copy(a_loadable_library(), target)
        else:
            target.write_bytes(b"not a shared library")
    module = types.ModuleType("onnxruntime")
    module.__file__ = str(folder / "onnxruntime" / "__init__.py")
    module.__version__ = "1.31.1"
    module.get_available_providers = lambda: list(GPU_BUILD)
    module.preloads = []

    def preload_dlls():
        module.preloads.append(True)
        print(preload_prints, end="")

    module.preload_dlls = preload_dlls
    return module


@pytest.fixture
def gpu_build_without_tensorrt(tmp_path, monkeypatch):
    ort = fake_onnxruntime(tmp_path, {"cuda": True, "tensorrt": False},
                           preload_prints="Failed to load libcudnn.so.9: cannot open shared object file\n")
    monkeypatch.setattr(ort_backend, "_onnxruntime", lambda: ort)
    return ort


def onnxruntime_targets() -> dict:
    return {t.device: t for t in ort_backend.OnnxRuntimeBackend.targets()}


def test_a_listed_provider_whose_library_does_not_load_is_unavailable_with_the_loaders_words(
        gpu_build_without_tensorrt, tmp_path):
    targets = onnxruntime_targets()
    trt = targets["tensorrt"]
    assert not trt.available
    assert "TensorrtExecutionProvider is in onnxruntime 1.31.1 but its library does not load" in trt.reason
    assert str(tmp_path / "onnxruntime" / "capi" / library_file("tensorrt")) in trt.reason
    assert "install onnxruntime-gpu with TensorRT libraries" in trt.reason
    assert targets["cuda"].available and targets["cuda"].reason == "CUDAExecutionProvider is available " \
                                                                   "(onnxruntime 1.31.1)"
    assert targets["cpu"].available


def test_auto_then_picks_the_cuda_provider_and_says_why_not_tensorrt(gpu_build_without_tensorrt):
    chosen, reason = choose_target("auto", runtime.available_backends())
    assert chosen.name == "onnxruntime:cuda"
    assert "onnxruntime:tensorrt unavailable (TensorrtExecutionProvider is in onnxruntime" in reason


def test_pip_installed_cuda_libraries_are_preloaded_once_and_their_messages_quoted_not_printed(
        gpu_build_without_tensorrt, capsys):
    onnxruntime_targets()
    onnxruntime_targets()
    assert gpu_build_without_tensorrt.preloads == [True]
    assert capsys.readouterr().out == ""
    reason = onnxruntime_targets()["tensorrt"].reason
    assert "(onnxruntime.preload_dlls: Failed to load libcudnn.so.9: cannot open shared object file)" in reason


def test_building_a_session_on_a_provider_that_cannot_start_refuses_before_onnxruntime_falls_back(
        gpu_build_without_tensorrt, shipped_dir):
    target = onnxruntime_targets()["tensorrt"]
    with pytest.raises(BackendUnavailableError, match="onnxruntime:tensorrt cannot run here: .*does not load"):
        ort_backend.OnnxRuntimeBackend(artifact.read(shipped_dir / "1" / "model.onnx"), target)


def test_a_cpu_build_lists_gpu_providers_as_missing_without_loading_anything(monkeypatch, tmp_path):
    ort = fake_onnxruntime(tmp_path, {"cuda": False, "tensorrt": False})
    ort.get_available_providers = lambda: ["CPUExecutionProvider"]
    monkeypatch.setattr(ort_backend, "_onnxruntime", lambda: ort)
    targets = onnxruntime_targets()
    assert "CUDAExecutionProvider is not in this onnxruntime 1.31.1 build" in targets["cuda"].reason
    assert ort.preloads == []


MAPS = """\
55d0c-55d0d r--p 00000000 08:01 1201 /usr/bin/python3.12
7f1a0-7f1b0 r-xp 00000000 08:01 3301 /venv/site-packages/tensorrt_libs/libnvinfer_plugin.so.10
7f1c0-7f1d0 rw-p 00000000 00:00 0
7f2a0-7f2b0 r-xp 00000000 08:01 3302 /venv/site-packages/tensorrt_libs/libnvinfer.so.10
"""


def test_the_libnvinfer_the_process_mapped_is_found_whatever_its_version_suffix():
    from visionrt.runtime.backends.ort_providers import loaded_library

    assert loaded_library("libnvinfer.so", MAPS) == Path("/venv/site-packages/tensorrt_libs/libnvinfer.so.10")
    assert loaded_library("libcudnn.so", MAPS) is None


@pytest.mark.parametrize("encoded, text", [(100900, "10.9.0"), (101303, "10.13.3"), (110401, "11.4.1")])
def test_tensorrts_library_version_number_reads_as_major_minor_patch(encoded, text):
    from visionrt.runtime.backends.ort_providers import tensorrt_version_text

    assert tensorrt_version_text(encoded) == text


def test_without_libnvinfer_loaded_or_able_to_say_the_tensorrt_version_is_unknown(monkeypatch):
    from visionrt.runtime.backends import ort_providers

    assert ort_providers.loaded_tensorrt_version() is None  # no TensorRT in this process
    monkeypatch.setattr(ort_providers, "loaded_library", lambda name, maps: a_loadable_library())
    assert ort_providers.loaded_tensorrt_version() is None  # a library without getInferLibVersion


def test_the_tensorrt_providers_engine_cache_is_one_folder_per_onnxruntime_and_tensorrt_version(
        gpu_build_without_tensorrt, monkeypatch, tmp_path):
    """ONNX Runtime's engine file names carry the GPU architecture but no version: an engine left by another
    TensorRT would be deserialized, and fail, after an upgrade."""
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "engines"))
    folders = []
    for version in ("10.9.0", "11.4.1", None):
        monkeypatch.setattr(ort_backend, "loaded_tensorrt_version", lambda: version)
        options = ort_backend.default_provider_options("tensorrt", gpu_build_without_tensorrt)
        assert options["trt_engine_cache_path"] == options["trt_timing_cache_path"]
        folders.append(Path(options["trt_engine_cache_path"]).relative_to(tmp_path / "engines").as_posix())
    assert folders == ["onnxruntime-trt/ort1.31.1-trt-10.9.0", "onnxruntime-trt/ort1.31.1-trt-11.4.1",
                       "onnxruntime-trt/ort1.31.1-trt-unknown"]
    assert ort_backend.default_provider_options("cuda", gpu_build_without_tensorrt) == {}


def cuda_provider_or_skip():
    ort = pytest.importorskip("onnxruntime")
    problem = ort_backend.provider_missing(ort, "cuda")
    if problem:
        pytest.skip(problem)


@pytest.mark.gpu
def test_on_a_gpu_the_fp16_digits_classifier_agrees_with_fp32_on_the_cpu(shipped_dir, digits_test_split):
    from visionrt.runtime.tasks import images

    cuda_provider_or_skip()
    gpu = runtime.load(shipped_dir, backend="onnxruntime:cuda", precision="fp16")
    cpu = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision="fp32")
    assert gpu.backend.describe()["provider"] == "CUDAExecutionProvider"
    batch = images.preprocess(list(digits_test_split[0]), gpu.metadata.preprocessing)
    agreement = np.mean(gpu.run(batch).argmax(1) == cpu.run(batch).argmax(1))
    assert agreement >= 0.999, f"top-1 agreement {agreement:.4f}"


@pytest.mark.gpu
def test_on_a_gpu_bound_outputs_stay_in_cuda_memory_and_match_the_plain_run(shipped_dir):
    cuda_provider_or_skip()
    model = runtime.load(shipped_dir, backend="onnxruntime:cuda", precision="fp32")
    batch = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    resident = model.backend.to_device(batch)
    values = model.backend.run_bound({model.inputs[0].name: resident}, keep_on_device=True)
    assert resident.device_name().lower() == "cuda" and values[0].device_name().lower() == "cuda"
    assert np.allclose(values[0].numpy(), model.run(batch), atol=1e-5)


@pytest.mark.gpu
def test_on_a_gpu_without_tensorrt_auto_picks_the_cuda_provider_at_fp16():
    cuda_provider_or_skip()
    if any(t.available for t in runtime.available_backends() if "tensorrt" in t.name):
        pytest.skip("TensorRT is here, and auto prefers it")
    model = runtime.load("digits")
    assert model.describe()["provider"] == "CUDAExecutionProvider" and model.precision == "fp16"
    assert any("auto picks FP16 on a GPU" in reason for reason in model.reasons)


def test_provider_options_are_refused_where_nothing_would_read_them():
    with pytest.raises(UserInputError, match="provider_options are for ONNX Runtime's GPU providers, and "
                                             "onnxruntime:cpu was chosen"):
        runtime.load("digits", backend="onnxruntime:cpu", provider_options={"prefer_nhwc": "1"})


def test_provider_options_reach_the_gpu_provider_over_visionrts_defaults(gpu_build_without_tensorrt, monkeypatch,
                                                                         shipped_dir):
    asked = {}

    class Session:  # records what onnxruntime was asked for, then fails as a bad option would
        def __init__(self, path, sess_options, providers, disabled_optimizers):
            asked["providers"] = providers
            raise RuntimeError("Unknown provider option: 'prefer_nhwc'")

    gpu_build_without_tensorrt.SessionOptions = lambda: types.SimpleNamespace(
        intra_op_num_threads=0, add_session_config_entry=lambda key, value: None)
    gpu_build_without_tensorrt.InferenceSession = Session
    monkeypatch.setattr(ort_backend, "default_provider_options", lambda device, ort: {"device_id": "0", "x": "default"})
    with pytest.raises(ArtifactError, match=r"with CUDAExecutionProvider options \{'prefer_nhwc': '1', 'x': 'mine'\}: "
                                            r"Unknown provider option"):
        runtime.load(shipped_dir, backend="onnxruntime:cuda", provider_options={"prefer_nhwc": "1", "x": "mine"})
    assert asked["providers"] == [("CUDAExecutionProvider", {"device_id": "0", "x": "mine", "prefer_nhwc": "1"}),
                                  "CPUExecutionProvider"]


@pytest.mark.gpu
def test_on_a_gpu_provider_options_change_the_session_and_describe_says_so(shipped_dir):
    cuda_provider_or_skip()
    plain = runtime.load(shipped_dir, backend="onnxruntime:cuda", precision="fp32")
    nhwc = runtime.load(shipped_dir, backend="onnxruntime:cuda", precision="fp32",
                        provider_options={"prefer_nhwc": "1"})
    assert plain.describe()["provider_options"]["prefer_nhwc"] == "0"
    assert nhwc.describe()["provider_options"]["prefer_nhwc"] == "1"
    batch = np.random.default_rng(2).random((4, 1, 8, 8)).astype(np.float32)
    # TF32 convolutions (the CUDA provider's default) differ in the 3rd decimal between the two layouts' kernels
    np.testing.assert_allclose(nhwc.run(batch), plain.run(batch), rtol=1e-2, atol=1e-2)


@pytest.fixture
def tensorrt_provider_session(tmp_path, monkeypatch):
    """A GPU build whose TensorRT provider loads, with a session that records what it was asked for and
    echoes its input."""
    ort = fake_onnxruntime(tmp_path, {"cuda": True, "tensorrt": True})
    asked = {}

    class Session:
        def __init__(self, path, sess_options, providers, disabled_optimizers):
            asked["providers"] = providers

        def get_providers(self):
            return ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]

        def run(self, names, feeds):
            return [feeds["image"]]

    ort.SessionOptions = lambda: types.SimpleNamespace(
        intra_op_num_threads=0, add_session_config_entry=lambda key, value: None)
    ort.InferenceSession = Session
    monkeypatch.setattr(ort_backend, "_onnxruntime", lambda: ort)
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "engines"))
    return asked


def test_the_tensorrt_provider_gets_the_artifacts_shape_range_and_refuses_shapes_outside_it(
        tensorrt_provider_session):
    from visionrt import model_zoo

    target = onnxruntime_targets()["tensorrt"]
    backend = ort_backend.OnnxRuntimeBackend(artifact.read(model_zoo.model_dir("style") / "1" / "model_fp16.onnx"), target)
    (provider, options), _ = tensorrt_provider_session["providers"]
    assert provider == "TensorrtExecutionProvider" and options["trt_fp16_enable"] is True
    assert (options["trt_profile_min_shapes"], options["trt_profile_opt_shapes"], options["trt_profile_max_shapes"]) \
        == ("image:1x3x16x16", "image:8x3x256x256", "image:16x3x1024x1024")
    inside = np.zeros((2, 3, 64, 48), np.float32)
    assert backend.run({"image": inside})[0] is inside
    with pytest.raises(UserInputError, match=r"axis 3 is 2048, outside the engine's profile \[16, 1024\]"):
        backend.run({"image": np.zeros((1, 3, 64, 2048), np.float32)})
    assert backend.profile.max == (16, 3, 1024, 1024)


def test_a_users_shape_range_replaces_the_artifacts_and_the_provider_checks_it(tensorrt_provider_session):
    from visionrt import model_zoo

    target = onnxruntime_targets()["tensorrt"]
    backend = ort_backend.OnnxRuntimeBackend(artifact.read(model_zoo.model_dir("style") / "1" / "model_fp16.onnx"), target,
                                             provider_options={"trt_profile_max_shapes": "image:32x3x2048x2048"})
    (_, options), _ = tensorrt_provider_session["providers"]
    assert options["trt_profile_max_shapes"] == "image:32x3x2048x2048"
    assert options["trt_profile_min_shapes"] == "image:1x3x16x16"
    wide = np.zeros((1, 3, 64, 2048), np.float32)
    assert backend.profile is None and backend.run({"image": wide})[0] is wide


def test_the_cpu_and_cuda_providers_get_no_shape_range(shipped_dir):
    target = onnxruntime_targets()["cpu"]
    assert ort_backend.OnnxRuntimeBackend(artifact.read(shipped_dir / "1" / "model.onnx"), target).profile is None


def test_when_the_provider_wants_ranges_for_more_inputs_the_error_says_how_to_give_them(tensorrt_provider_session,
                                                                                         monkeypatch):
    from visionrt import model_zoo

    ort = ort_backend._onnxruntime()

    def refuse(path, sess_options, providers, disabled_optimizers):  # ONNX Runtime's words (its PR 17007)
        raise RuntimeError("EP_FAIL : User needs to provide all the dynamic shape inputs with associated profiles "
                           "if they want to explicitly set profiles through provider options.")

    monkeypatch.setattr(ort, "InferenceSession", refuse)
    target = onnxruntime_targets()["tensorrt"]
    with pytest.raises(ArtifactError, match=r"(?s)associated profiles.*visionrt gave the TensorRT provider the "
                                            r"artifact's input shape range.*provider_options=\{'trt_profile_min"):
        ort_backend.OnnxRuntimeBackend(artifact.read(model_zoo.model_dir("style") / "1" / "model_fp16.onnx"), target)
