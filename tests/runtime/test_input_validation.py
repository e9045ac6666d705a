"""model.run() rejects bad batches with errors that name the expected and the actual value."""

import numpy as np
import pytest

from visionrt import runtime
from visionrt.errors import UserInputError


@pytest.fixture(scope="module")
def model():
    return runtime.load("digits", backend="onnxruntime:cpu")


@pytest.mark.parametrize("value, message", [
    (np.zeros((8, 8), np.float32), r"expected float32 of shape \(N, 1, 8, 8\), got float32 \(8, 8\); pass a batch"),
    (np.zeros((1, 1, 8, 8), np.float64), r"got float64 \(1, 1, 8, 8\); use x.astype\(np.float32\)"),
    (np.zeros((1, 1, 8, 8), np.uint8), r"got uint8 \(1, 1, 8, 8\)"),
    (np.zeros((2, 3, 8, 8), np.float32), r"axis 1 is 3, must be 1"),
    (np.zeros((2, 1, 8, 9), np.float32), r"axis 3 is 9, must be 8"),
    (np.zeros((0, 1, 8, 8), np.float32), r"empty batch \(0, 1, 8, 8\)"),
    ([[0.0]], r"got list; pass a numpy array"),
])
def test_wrong_rank_shape_dtype_type_or_empty_batch(model, value, message):
    with pytest.raises(UserInputError, match=message):
        model.run(value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(model, bad):
    x = np.zeros((3, 1, 8, 8), np.float32)
    x[1, 0, 2, 5] = bad
    with pytest.raises(UserInputError, match="1 value\\(s\\) are NaN or Inf"):
        model.run(x)


def test_huge_but_finite_values_are_accepted(model):
    x = np.full((1, 1, 8, 8), 1e20, np.float32)  # overflows the fast dot-product check; the exact check accepts
    assert model.run(x).shape == (1, 10)


def test_named_inputs_are_checked_too(model):
    assert model.run({"image": np.zeros((1, 1, 8, 8), np.float32)}).shape == (1, 10)
    with pytest.raises(UserInputError, match=r"inputs must be exactly \['image'\], got \['img'\]"):
        model.run({"img": np.zeros((1, 1, 8, 8), np.float32)})


def test_non_contiguous_input_gives_the_same_answer(model):
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 16)).astype(np.float32)
    strided = x[:, :, :, ::2]
    np.testing.assert_allclose(model.run(strided), model.run(np.ascontiguousarray(strided)), atol=1e-6)
