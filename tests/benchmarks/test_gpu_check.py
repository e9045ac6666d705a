"""The one-command GPU check: its summaries, and a clear refusal where there is no GPU."""

import pytest

from visionrt.benchmarks import gpu_check

RESULT = {"model": "digits", "rows": [
    {"name": "pytorch-eager", "backend": "pytorch", "device": "cuda", "precision": "fp16", "timing": "host", "batch": 1,
     "width": 8, "p50_ms": 0.5, "speedup_vs_eager_fp32": 1.1, "max_abs_error_vs_eager_fp32": 0.01,
     "top1_agreement_vs_eager_fp32": 1.0},
    {"name": "pytorch-eager", "backend": "pytorch", "device": "cuda", "precision": "fp32", "timing": "cuda-events",
     "batch": 1, "width": 8, "p50_ms": 0.55, "speedup_vs_eager_fp32": 1.0, "max_abs_error_vs_eager_fp32": 0.0,
     "top1_agreement_vs_eager_fp32": 1.0},
    {"name": "visionrt", "backend": "onnxruntime:cpu", "device": "cpu", "precision": "fp32", "timing": "host", "batch": 1,
     "width": 8, "p50_ms": 0.03, "speedup_vs_eager_fp32": 6.0, "max_abs_error_vs_eager_fp32": 1e-6,
     "top1_agreement_vs_eager_fp32": 1.0}]}


def test_parity_rows_are_the_fp16_host_rows():
    rows = gpu_check.parity_rows(RESULT)
    assert [(r["precision"], r["batch"]) for r in rows] == [("fp16", 1)]
    assert rows[0]["top1_agreement_vs_eager_fp32"] == 1.0


def test_speedup_rows_are_the_cuda_rows():
    assert [r["timing"] for r in gpu_check.speedup_rows(RESULT)] == ["host", "cuda-events"]


def test_markdown_names_the_sections():
    summary = {"environment": {"cpu": "x", "cpu_count": 2, "torch_threads": 2, "python": "3", "numpy": "2",
                               "onnxruntime": "1", "onnxruntime_providers": ["CPUExecutionProvider"], "torch": "2",
                               "visionrt": "0", "cuda": None},
               "fp16_parity": gpu_check.parity_rows(RESULT), "cuda_speedups": gpu_check.speedup_rows(RESULT),
               "runtime_backends": [{"name": "tensorrt:cuda", "available": False, "reason": "not installed"}]}
    text = gpu_check.markdown(summary)
    for heading in ("# GPU check", "## FP16 against eager FP32", "## CUDA latency",
                    "- no `tensorrt:cuda`: not installed", "Not measured: no native TensorRT backend ran on this machine."):
        assert heading in text


def test_concurrency_is_summarised_one_line_per_runner_with_throughput_by_thread_count():
    rows = [{"name": "visionrt", "backend": "onnxruntime:cuda", "precision": "fp16", "threads": n,
             "throughput_ips": 1000.0 * n ** 0.5, "scaling_vs_fewest_threads": n ** 0.5} for n in (1, 4)]
    (line,) = gpu_check.concurrency_rows({"model": "style", "concurrency": rows})
    assert line == {"model": "style", "name": "visionrt", "backend": "onnxruntime:cuda", "precision": "fp16",
                    "ips_1_threads": 1000.0, "ips_4_threads": 2000.0, "scaling": 2.0}
    text = "\n".join(gpu_check.concurrency_section({"concurrency": [line], "concurrency_threads": [1, 4]}))
    assert "| model | runner | backend | precision | 1 threads img/s | 4 threads img/s | scaling |" in text
    assert "| style | visionrt | onnxruntime:cuda | fp16 | 1000 | 2000 | 2 |" in text
    assert gpu_check.concurrency_section({"concurrency": [], "concurrency_threads": []}) == []


def test_the_tensorrt_bar_is_reported_per_model_where_an_engine_ran():
    bar = {"value": 5.0, "bar": ">= 4.0x", "met": True, "row": "visionrt-cuda-graph"}
    results = {"style": {"bars": {"tensorrt_fp16_vs_eager_fp32_cuda_batch1": bar}}, "digits": {"bars": {}}}
    assert gpu_check.tensorrt_bar_rows(results) == [{"model": "style", **bar}]


def test_without_a_gpu_it_exits_2_with_a_reason(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert gpu_check.main([str(tmp_path)]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_models_default_to_every_installed_one_and_keep_registry_order():
    everything = gpu_check.chosen_models(None)
    assert {"digits", "style", "colorizer"} <= set(everything)
    assert gpu_check.chosen_models(["style", "digits"]) == [n for n in everything if n in ("style", "digits")]


def test_an_unknown_model_is_named_before_any_gpu_work(tmp_path, capsys):
    assert gpu_check.main([str(tmp_path), "--models", "digits", "nosuchmodel"]) == 2
    assert "nosuchmodel, not installed here" in capsys.readouterr().err


def test_each_models_fp16_file_is_summarised_tensor_by_tensor_with_its_report(tmp_path):
    pytest.importorskip("onnx")
    row = gpu_check.layer_row("digits", tmp_path, device="cpu")  # the GPU check runs it on "cuda"
    assert row["model"] == "digits" and row["tensors"] == 9 and row["first_under_40_db"] == "none"
    assert 50 < row["lowest_snr_db"] < 100 and row["inputs"] == "standard normal noise (2, 1, 8, 8), seed 0"
    assert (tmp_path / "compare_digits.png").is_file()
    text = "\n".join(gpu_check.layers_section({"fp16_layers": [row]}))
    assert "| digits | standard normal noise (2, 1, 8, 8), seed 0 | 9 |" in text
    skipped = gpu_check.layers_section({"fp16_layers": [], "fp16_layers_skipped": "CUDAExecutionProvider is not in"})
    assert skipped[1] == "Not run: CUDAExecutionProvider is not in."
