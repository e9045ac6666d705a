"""Loading by zoo name, folder or file, and what the loaded model says about itself."""

import numpy as np
import pytest

from visionrt import runtime
from visionrt.errors import ArtifactError, BackendUnavailableError, UserInputError


def has_gpu_target() -> bool:
    return any(t.available for t in runtime.available_backends() if t.on_gpu)


def test_zoo_name_folder_and_file_load_the_same_model(shipped_dir):
    # One backend and precision for all three: on a GPU, auto would give the folder FP16 and the file FP32.
    by_name = runtime.load("digits", backend="onnxruntime:cpu", precision="fp32")
    by_folder = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision="fp32")
    by_file = runtime.load(shipped_dir / "1" / "model.onnx", backend="onnxruntime:cpu")
    x = np.zeros((2, 1, 8, 8), np.float32)
    np.testing.assert_array_equal(by_name.run(x), by_folder.run(x))
    np.testing.assert_array_equal(by_name.run(x), by_file.run(x))
    assert isinstance(by_name, runtime.Classifier)


def test_auto_on_a_cpu_machine_picks_onnxruntime_cpu_fp32_and_says_why():
    if has_gpu_target():
        pytest.skip("this machine has a GPU provider (tests/runtime/test_ort_providers.py covers auto there)")
    model = runtime.load("digits")
    described = model.describe()
    assert (described["backend"], described["device"], described["provider"]) == ("onnxruntime", "cpu", "CPUExecutionProvider")
    assert model.precision == "fp32"
    assert any("FP32 on a CPU" in reason for reason in model.reasons)
    assert "thread-safe" in described["thread_safe"]


def test_explicit_fp16_loads_the_fp16_file_and_notes_the_cpu_cost():
    model = runtime.load("digits", backend="onnxruntime:cpu", precision="fp16")
    assert model.precision == "fp16" and model.metadata.precision == "fp16"
    assert model.describe()["file"].endswith("model_fp16.onnx")
    assert any("usually slower" in reason for reason in model.reasons)


def test_a_single_file_is_the_precision_it_was_exported_at(shipped_dir):
    with pytest.raises(UserInputError, match="is a fp32 model but precision fp16 was requested"):
        runtime.load(shipped_dir / "1" / "model.onnx", precision="fp16")


def test_unknown_zoo_name_lists_what_the_zoo_has():
    with pytest.raises(UserInputError, match="unknown zoo model 'cats'.*digits"):
        runtime.load("cats")


def test_missing_paths_are_named(tmp_path):
    with pytest.raises(ArtifactError, match="ONNX file not found: .*absent.onnx"):
        runtime.load(tmp_path / "absent.onnx")
    with pytest.raises(ArtifactError, match="model source not found"):
        runtime.load(tmp_path / "no" / "such" / "folder")
    with pytest.raises(ArtifactError, match="holds no version folder"):
        runtime.load(tmp_path)


def test_truncated_and_non_onnx_files_are_rejected_with_the_path(tmp_path, shipped_dir):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes((shipped_dir / "1" / "model.onnx").read_bytes()[:5000])
    with pytest.raises(ArtifactError, match="truncated.onnx is not a readable ONNX file"):
        runtime.load(truncated)
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model")
    with pytest.raises(ArtifactError, match="notes.onnx"):
        runtime.load(text)


def test_unknown_backend_and_precision_are_clear_errors():
    with pytest.raises(UserInputError, match="unknown backend 'tpu'; choose one of: auto, onnxruntime"):
        runtime.load("digits", backend="tpu")
    with pytest.raises(UserInputError, match="precision must be one of"):
        runtime.load("digits", precision="int4")


def test_asking_for_a_missing_gpu_provider_fails_loudly_with_the_reason():
    if has_gpu_target():
        pytest.skip("this machine has a GPU provider")
    with pytest.raises(BackendUnavailableError, match="CUDAExecutionProvider is not in this onnxruntime"):
        runtime.load("digits", backend="onnxruntime:cuda")


def test_available_backends_explain_every_target():
    targets = runtime.available_backends()
    assert [t.speed_rank for t in targets] == sorted(t.speed_rank for t in targets)
    cpu = next(t for t in targets if t.name == "onnxruntime:cpu")
    assert cpu.available
    assert all(t.reason for t in targets)


def test_cpu_sessions_wait_without_spinning_so_that_other_sessions_keep_their_cores():
    assert runtime.load("digits", backend="onnxruntime:cpu").describe()["threads_spin"] is False
