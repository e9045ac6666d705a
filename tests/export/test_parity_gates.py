"""The parity comparison and its tolerance rule."""

import numpy as np
import pytest

from visionrt.errors import ValidationFailedError
from visionrt.export import parity_gates


def test_compare_reports_errors_and_top1_agreement():
    reference = np.array([[1.0, 2.0], [3.0, 1.0]])
    figures = parity_gates.compare(reference, reference + np.array([[0.0, 0.5], [0.0, 2.5]]))
    assert figures["max_abs_error"] == 2.5
    assert figures["top1_agreement"] == 0.5
    assert figures["reference_max_abs"] == 3.0


def test_tolerance_scales_with_the_reference_magnitude():
    tolerance = parity_gates.Tolerance(abs=0.01, rel=0.001, min_top1=1.0)
    ok = {"real_batch1": {"max_abs_error": 0.05, "reference_max_abs": 50.0, "top1_agreement": 1.0}}
    assert parity_gates.failures(ok, tolerance) == []
    too_far = {"real_batch1": {"max_abs_error": 0.07, "reference_max_abs": 50.0, "top1_agreement": 1.0}}
    assert "max abs error 0.07 > allowed 0.06" in parity_gates.failures(too_far, tolerance)[0]


def test_top1_is_gated_on_real_inputs_only():
    tolerance = parity_gates.Tolerance(abs=1.0, rel=0.0, min_top1=0.999)
    report = {"random_batch1": {"max_abs_error": 0.0, "reference_max_abs": 1.0, "top1_agreement": 0.5},
              "real_batch1": {"max_abs_error": 0.0, "reference_max_abs": 1.0, "top1_agreement": 0.99}}
    problems = parity_gates.failures(report, tolerance)
    assert len(problems) == 1 and problems[0].startswith("real_batch1: top-1 agreement 0.9900")


def test_nan_output_fails_the_gate():
    report = {"real_batch1": parity_gates.compare(np.ones((2, 3)), np.full((2, 3), np.nan))}
    with pytest.raises(ValidationFailedError, match="previous artifact was left in place"):
        parity_gates.gate("x", report, parity_gates.FP16_TOLERANCE)


def test_input_sets_cover_real_and_random_at_two_batch_sizes():
    sets = parity_gates.input_sets(np.zeros((100, 1, 8, 8), np.float32), large_batch=64)
    assert {name: batch for name, (_, batch) in sets.items()} == {
        "real_batch1": 1, "real_batch64": 64, "random_batch1": 1, "random_batch64": 64}
    assert sets["random_batch64"][0].dtype == np.float32


def test_image_outputs_are_gated_on_psnr_where_the_tolerance_says_so():
    rng = np.random.default_rng(0)
    reference = rng.random((2, 3, 16, 16))
    close = reference + 0.003 * rng.standard_normal(reference.shape)  # about 50 dB
    close[0, 0, 0, 0] += 0.05  # one pixel off by more than the max-abs allowance
    figures = parity_gates.compare(reference, close)
    assert 45 < figures["psnr_db"] < 55
    assert parity_gates.failures({"real_batch1": figures}, parity_gates.FP16_TOLERANCE) == []
    far = parity_gates.compare(reference, reference + 0.05 * rng.standard_normal(reference.shape))
    assert "PSNR" in parity_gates.failures({"real_batch1": far}, parity_gates.FP16_TOLERANCE)[0]
    assert "max abs error" in parity_gates.failures({"real_batch1": figures}, parity_gates.FP32_TOLERANCE)[0]
