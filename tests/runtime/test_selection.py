"""Backend and precision choice on machines we do not have (GPU ones), from synthetic target lists."""

import pytest

from visionrt.errors import BackendUnavailableError, UserInputError
from visionrt.runtime.backends import Target
from visionrt.runtime.selection import choose_precision, choose_target

CPU = Target("onnxruntime", "cpu", True, "ok", 90)
CUDA = Target("onnxruntime", "cuda", True, "ok", 20)
TRT_MISSING = Target("onnxruntime", "tensorrt", False, "no TensorRT libraries", 10)


def test_auto_takes_the_fastest_available_and_names_the_faster_missing_ones():
    target, reason = choose_target("auto", [TRT_MISSING, CUDA, CPU])
    assert target is CUDA
    assert "onnxruntime:tensorrt unavailable (no TensorRT libraries)" in reason


def test_a_backend_name_alone_takes_its_fastest_device():
    assert choose_target("onnxruntime", [CPU, CUDA])[0] is CUDA


def test_an_unavailable_explicit_target_raises_with_its_reason():
    with pytest.raises(BackendUnavailableError, match="no TensorRT libraries"):
        choose_target("onnxruntime:tensorrt", [TRT_MISSING, CPU])


def test_auto_precision_is_fp16_on_gpu_and_fp32_on_cpu():
    assert choose_precision("auto", CUDA, ["fp16", "fp32"])[0] == "fp16"
    assert choose_precision("auto", CPU, ["fp16", "fp32"])[0] == "fp32"


def test_auto_precision_says_so_when_the_preferred_one_is_missing():
    precision, reason = choose_precision("auto", CUDA, ["fp32"])
    assert precision == "fp32" and "has only fp32" in reason


def test_explicit_precision_must_exist():
    with pytest.raises(UserInputError, match="has only fp32"):
        choose_precision("fp16", CPU, ["fp32"])


def test_native_tensorrt_is_listed_first_with_the_reason_it_is_missing():
    from visionrt import runtime

    targets = runtime.available_backends()
    assert targets[0].name == "tensorrt:cuda"
    if not targets[0].available:
        assert "tensorrt" in targets[0].reason.lower()


def test_buffer_sizes_follow_shape_and_dtype():
    import numpy as np

    from visionrt.runtime.backends.cuda import buffer_bytes

    assert buffer_bytes((64, 1, 8, 8), np.float32) == 64 * 64 * 4
    assert buffer_bytes((2, 33, 11), np.float16) == 2 * 33 * 11 * 2
    assert buffer_bytes((0, 10), np.float32) == 4
