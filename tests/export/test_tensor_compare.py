"""FP16 against FP32 tensor by tensor: the first tensor FP16 cannot hold is found and named with its node."""

import math

import numpy as np
import pytest

from visionrt.export import fp16, tensor_compare

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxconverter_common")
fp16_graphs = pytest.importorskip("fp16_graphs")


def test_score_is_exact_for_equal_tensors_and_minus_infinity_with_values_fp16_lost():
    reference = np.array([1.0, -2.0, 3.0], np.float32)
    assert tensor_compare.score(reference, reference.copy()) == (math.inf, 0.0, 3.0, 0)
    snr, error, peak, nonfinite = tensor_compare.score(reference, np.array([1.0, np.inf, 3.0], np.float32))
    assert (snr, error, peak, nonfinite) == (-math.inf, 0.0, 3.0, 1)
    snr, *_ = tensor_compare.score(reference, reference + np.float32(0.01))
    assert snr == pytest.approx(10 * math.log10(14 / 3e-4), abs=1e-3)


def test_an_overflow_is_found_at_the_node_whose_output_fp16_cannot_hold():
    conversion = fp16.convert_to_fp16(fp16_graphs.overflow())
    rows = tensor_compare.compare_tensors(fp16_graphs.overflow(), conversion.model, fp16_graphs.inputs(),
                                       conversion.kept)
    assert [row.node for row in rows] == ["scale_up_1", "scale_up_2", "scale_down"]
    first = tensor_compare.first_divergence(rows)
    assert (first.node, first.op_type, first.kept_fp32) == ("scale_up_2", "Mul", False) and first.nonfinite > 0
    assert rows[0].snr_db > 60  # before the overflow, FP16 rounding only
    summary = tensor_compare.summary(rows)
    assert "the first: 'b' from node 'scale_up_2' (Mul, FP16)" in summary
    assert "--keep-fp32 scale_up_2 (that node) or --keep-fp32 Mul" in summary


def test_keeping_the_overflowing_nodes_in_fp32_leaves_nothing_under_the_bar():
    conversion = fp16.convert_to_fp16(fp16_graphs.overflow(), keep=("scale_up_2", "scale_down"))
    rows = tensor_compare.compare_tensors(fp16_graphs.overflow(), conversion.model, fp16_graphs.inputs(),
                                       conversion.kept)
    assert tensor_compare.first_divergence(rows) is None
    assert tensor_compare.summary(rows).startswith("every one of 3 shared tensors stays at or above 40 dB SNR")


def test_clipped_weights_show_as_the_node_that_reads_them_falling_under_the_bar():
    conversion = fp16.convert_to_fp16(fp16_graphs.large_weights())
    rows = tensor_compare.compare_tensors(fp16_graphs.large_weights(), conversion.model, fp16_graphs.inputs())
    first = tensor_compare.first_divergence(rows)
    assert first.node == "head" and first.snr_db < 40 and first.nonfinite == 0 and rows[0].snr_db > 60


def test_the_bar_is_the_callers():
    conversion = fp16.convert_to_fp16(fp16_graphs.large_weights())
    rows = tensor_compare.compare_tensors(fp16_graphs.large_weights(), conversion.model, fp16_graphs.inputs())
    assert tensor_compare.first_divergence(rows).node == "head"
    assert tensor_compare.first_divergence(rows, min_snr_db=200).node == "hidden"


@pytest.mark.parametrize("name, shape", [("digits", (2, 1, 8, 8)), ("digit_reader", (2, 1, 16, 64)),
                                         ("style", (1, 3, 32, 32))])
def test_zoo_fp16_files_stay_above_40_db_on_every_tensor_and_kept_nodes_are_marked(name, shape):
    from visionrt.export import compare_report

    rows, described, meta = compare_report.compare(name, shape=shape)
    assert rows and tensor_compare.first_divergence(rows) is None, tensor_compare.summary(rows)
    assert {row.node for row in rows if row.kept_fp32} <= set(meta.fp32_nodes)
    if meta.fp32_nodes:
        assert any(row.kept_fp32 for row in rows)
    assert described == f"standard normal noise {shape}, seed 0"


def test_the_table_marks_rows_under_the_bar():
    conversion = fp16.convert_to_fp16(fp16_graphs.overflow())
    rows = tensor_compare.compare_tensors(fp16_graphs.overflow(), conversion.model, fp16_graphs.inputs())
    lines = tensor_compare.table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert "inf/NaN **under the bar**" in lines[3] and "under the bar" not in lines[2]


@pytest.mark.gpu
def test_on_a_gpu_the_style_models_fp16_kernels_stay_above_the_bar_on_every_tensor():
    from visionrt.export import compare_report
    from visionrt.runtime.backends import ort as ort_backend

    problem = ort_backend.provider_missing(pytest.importorskip("onnxruntime"), "cuda")
    if problem:
        pytest.skip(problem)
    rows, _, _ = compare_report.compare("style", shape=(1, 3, 256, 256), device="cuda")
    assert len(rows) == 65 and tensor_compare.first_divergence(rows) is None, tensor_compare.summary(rows)


def test_a_device_onnxruntime_cannot_run_is_refused_with_the_reason(monkeypatch):
    from visionrt.errors import BackendUnavailableError
    from visionrt.runtime.backends import ort as ort_backend

    monkeypatch.setattr(ort_backend, "provider_missing", lambda ort, device: "CUDAExecutionProvider is not in this build")
    with pytest.raises(BackendUnavailableError, match="cannot compare on cuda: CUDAExecutionProvider is not in this"):
        tensor_compare.run_marked(fp16_graphs.overflow(), ["a"], fp16_graphs.inputs(), "cuda")
