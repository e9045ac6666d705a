"""A short benchmark run: every row and report file the issue asks for."""

import json
from pathlib import Path

import pytest

from visionrt.benchmarks import harness
from visionrt.errors import UserInputError

ROW_KEYS = {"name", "backend", "device", "precision", "timing", "batch", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
            "min_ms", "throughput_ips", "speedup_vs_eager_fp32", "max_abs_error_vs_eager_fp32", "samples_ns"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bench")
    config = harness.BenchConfig(batches=(1, 4), warmup=2, iters=20, device="cpu", out=out, progress=False)
    return harness.run(config), out


def test_rows_cover_eager_runtime_precisions_and_the_bare_session(result):
    rows, _ = result
    kinds = {(r["name"], r["backend"], r["precision"]) for r in rows["rows"]}
    assert {("pytorch-eager", "pytorch", "fp32"), ("visionrt", "onnxruntime:cpu", "fp32"),
            ("visionrt", "onnxruntime:cpu", "fp16"), ("onnxruntime-bare", "onnxruntime:cpu", "fp32")} <= kinds
    for row in rows["rows"]:
        assert ROW_KEYS <= set(row) and len(row["samples_ns"]) == 20
        assert row["min_ms"] <= row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]


def test_eager_fp32_is_the_unit_of_speedup_and_error(result):
    rows, _ = result
    for row in rows["rows"]:
        if row["name"] == "pytorch-eager" and row["precision"] == "fp32":
            assert row["speedup_vs_eager_fp32"] == 1.0 and row["max_abs_error_vs_eager_fp32"] == 0.0
        if row["name"] == "visionrt" and row["precision"] == "fp32":
            assert row["max_abs_error_vs_eager_fp32"] < 1e-4


def test_report_has_cold_start_environment_overhead_and_bars(result):
    rows, _ = result
    assert {c["name"] for c in rows["cold_start"]} == {"pytorch-eager", "visionrt", "onnxruntime-bare"}
    assert all(c["load_and_first_call_ms"] > 0 for c in rows["cold_start"])
    assert rows["environment"]["onnxruntime"] and rows["environment"]["torch"]
    assert [o["batch"] for o in rows["overhead"]["by_batch"]] == [1, 4]
    assert all(len(o["block_overheads_pct"]) == harness.OVERHEAD_BLOCKS for o in rows["overhead"]["by_batch"])
    assert set(rows["bars"]) == {"speedup_vs_eager_cpu_batch1", "overhead_vs_bare_onnxruntime_batch1_pct"}


def test_writes_json_markdown_and_png(result):
    rows, out = result
    on_disk = json.loads((Path(out) / "bench_digits.json").read_text())
    assert len(on_disk["rows"]) == len(rows["rows"])
    markdown = (Path(out) / "bench_digits.md").read_text()
    for heading in ("| runner | backend |", "## Cold start", "## Environment", "## Runtime overhead", "## Bars"):
        assert heading in markdown
    assert (Path(out) / "bench_digits.png").read_bytes()[:4] == b"\x89PNG"


def test_cuda_on_a_machine_without_one_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserInputError, match="torch sees no CUDA GPU"):
        harness.run(harness.BenchConfig(device="cuda", out=tmp_path, progress=False))


def test_dynamic_width_models_get_a_width_sweep_at_batch_1(tmp_path):
    pytest.importorskip("torch")
    from visionrt import model_zoo

    if not (model_zoo.model_dir("digit_reader") / "config.pbtxt").is_file():
        pytest.skip("digit_reader is not in the zoo yet")
    config = harness.BenchConfig(model="digit_reader", batches=(1, 2), widths=(32, 96), warmup=1, iters=5,
                                 device="cpu", out=tmp_path, progress=False)
    rows = harness.run(config)["rows"]
    eager = [r for r in rows if r["name"] == "pytorch-eager"]
    assert [(r["sweep"], r["batch"]) for r in eager][:2] == [("batch", 1), ("batch", 2)]
    assert [(r["sweep"], r["batch"], r["width"]) for r in eager][2:] == [("width", 1, 32), ("width", 1, 96)]
    assert all(r["max_abs_error_vs_eager_fp32"] < 1e-3 for r in rows if r["precision"] == "fp32")


def test_gpu_onnxruntime_targets_get_a_device_resident_io_binding_row(monkeypatch, shipped_dir):
    from visionrt import runtime
    from visionrt.benchmarks import candidates
    from visionrt.runtime.backends.base import Target

    fake = [Target("onnxruntime", "cuda", True, "pretend", 20), Target("onnxruntime", "cpu", True, "here", 90)]
    monkeypatch.setattr(runtime, "available_backends", lambda: fake)
    rows = candidates.runtime_candidates(shipped_dir, ["cpu", "cuda"])
    labels = {(c.backend, c.precision, c.timing) for c in rows}
    assert ("onnxruntime:cuda", "fp16", "device-resident") in labels
    assert ("onnxruntime:cuda", "fp16", "host") in labels
    assert not any(c.timing == "device-resident" for c in rows if c.device == "cpu")


def test_the_report_names_the_registry_batches_it_swept_when_none_were_given(tmp_path):
    pytest.importorskip("torch")
    from visionrt import model_zoo

    if not (model_zoo.model_dir("vae_decoder") / "config.pbtxt").is_file():
        pytest.skip("vae_decoder is not in the zoo yet")
    result = harness.run(harness.BenchConfig(model="vae_decoder", warmup=1, iters=3, device="cpu", out=tmp_path,
                                             progress=False))
    swept = list(model_zoo.get("vae_decoder").bench_batches)
    assert result["config"]["batches"] == swept
    assert sorted({r["batch"] for r in result["rows"]}) == sorted(swept)
    assert f"Batches {swept}" in (tmp_path / "bench_vae_decoder.md").read_text()
