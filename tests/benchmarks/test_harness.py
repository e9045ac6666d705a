"""A short benchmark run: every row and report file the issue asks for."""

import json
from pathlib import Path

import numpy as np
import pytest

from visionrt.benchmarks import harness
from visionrt.errors import UserInputError

ROW_KEYS = {"name", "backend", "device", "precision", "timing", "batch", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
            "min_ms", "throughput_ips", "speedup_vs_eager_fp32", "max_abs_error_vs_eager_fp32", "samples_ns"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bench")
    config = harness.BenchConfig(batches=(1, 4), warmup=2, iters=20, device="cpu", out=out, progress=False,
                                 concurrency=(1, 2))
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
    assert {c["name"] for c in rows["cold_start"]} == {"pytorch-eager", "visionrt", "visionrt-1thread",
                                                       "onnxruntime-bare"}
    assert all(c["load_and_first_call_ms"] > 0 for c in rows["cold_start"])
    assert rows["environment"]["onnxruntime"] and rows["environment"]["torch"]
    assert [o["batch"] for o in rows["overhead"]["by_batch"]] == [1, 4]
    assert all(len(o["block_overheads_pct"]) == harness.OVERHEAD_BLOCKS for o in rows["overhead"]["by_batch"])
    assert set(rows["bars"]) == {"speedup_vs_eager_cpu_batch1", "overhead_vs_bare_onnxruntime_batch1_pct"}


def test_a_concurrency_sweep_times_every_host_row_from_one_and_two_threads(result):
    rows, _ = result
    host_rows = {(r["name"], r["backend"], r["precision"]) for r in rows["rows"] if r["timing"] == "host"}
    assert ("visionrt-1thread", "onnxruntime:cpu", "fp32") in host_rows  # added for the sweep: threads=1
    swept = {(r["name"], r["backend"], r["precision"], r["threads"]) for r in rows["concurrency"]}
    assert swept == {(*row, threads) for row in host_rows for threads in (1, 2)}
    for row in rows["concurrency"]:
        assert row["batch"] == 1 and len(row["samples_ns"]) == 20 and row["throughput_ips"] > 0
        assert row["p50_ms"] <= row["p99_ms"]
        if row["threads"] == 1:
            assert row["scaling_vs_fewest_threads"] == 1.0


def test_writes_json_markdown_and_png(result):
    rows, out = result
    on_disk = json.loads((Path(out) / "bench_digits.json").read_text())
    assert len(on_disk["rows"]) == len(rows["rows"])
    markdown = (Path(out) / "bench_digits.md").read_text()
    for heading in ("| runner | backend |", "## Cold start", "## Environment", "## Runtime overhead", "## Bars",
                    "## Concurrency"):
        assert heading in markdown
    assert (Path(out) / "bench_digits.png").read_bytes()[:4] == b"\x89PNG"


def test_a_thread_count_below_one_is_refused_before_anything_runs(tmp_path):
    pytest.importorskip("torch")
    with pytest.raises(UserInputError, match=r"--concurrency takes thread counts of at least 1, got \[1, 0\]"):
        harness.run(harness.BenchConfig(concurrency=(1, 0), out=tmp_path, progress=False))
    assert not any(tmp_path.iterdir())


def test_cuda_on_a_machine_without_one_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserInputError, match="torch sees no CUDA GPU"):
        harness.run(harness.BenchConfig(device="cuda", out=tmp_path, progress=False))


def test_dynamic_width_models_get_a_width_sweep_at_batch_1(tmp_path):
    pytest.importorskip("torch")
    from visionrt import model_zoo

    if not model_zoo.installed("digit_reader"):
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


def test_a_concurrency_sweep_adds_a_cpu_row_with_one_intra_op_thread_and_only_then(monkeypatch, shipped_dir):
    from visionrt import runtime
    from visionrt.benchmarks import candidates

    assert not any(c.name == "visionrt-1thread" for c in candidates.runtime_candidates(shipped_dir, ["cpu"]))
    (single,) = [c for c in candidates.runtime_candidates(shipped_dir, ["cpu"], single_thread=True)
                 if c.name == "visionrt-1thread"]
    assert (single.backend, single.precision, single.timing) == ("onnxruntime:cpu", "fp32", "host")
    asked = {}
    monkeypatch.setattr(runtime, "load", lambda *args, **kwargs: asked.update(kwargs))
    single.load()
    assert asked["threads"] == 1


def test_the_cuda_provider_also_gets_an_nhwc_row_that_loads_with_that_option(monkeypatch, shipped_dir):
    from visionrt import runtime
    from visionrt.benchmarks import candidates
    from visionrt.runtime.backends.base import Target

    monkeypatch.setattr(runtime, "available_backends", lambda: [Target("onnxruntime", "cuda", True, "pretend", 20)])
    nhwc = [c for c in candidates.runtime_candidates(shipped_dir, ["cuda"]) if c.name == "visionrt-nhwc"]
    assert [(c.backend, c.precision, c.timing) for c in nhwc] == [("onnxruntime:cuda", "fp16", "host"),
                                                                   ("onnxruntime:cuda", "fp32", "host")]
    asked = {}
    monkeypatch.setattr(runtime, "load", lambda *args, **kwargs: asked.update(kwargs))
    nhwc[0].load()
    assert asked["provider_options"] == {"prefer_nhwc": "1"} and asked["precision"] == "fp16"


def test_native_tensorrt_targets_get_an_engine_build_before_cold_start_and_a_cuda_graph_row(monkeypatch,
                                                                                             shipped_dir):
    from visionrt import runtime
    from visionrt.benchmarks import candidates
    from visionrt.runtime.backends.base import Target

    monkeypatch.setattr(runtime, "available_backends", lambda: [Target("tensorrt", "cuda", True, "pretend", 5)])
    rows = candidates.runtime_candidates(shipped_dir, ["cuda"])
    assert [(c.name, c.precision, c.prepare is not None) for c in rows] == [
        ("visionrt", "fp16", True), ("visionrt-cuda-graph", "fp16", False),
        ("visionrt", "fp32", True), ("visionrt-cuda-graph", "fp32", False)]


def test_tensorrt_rows_build_once_then_run_like_onnx_runtime(emulated_tensorrt, shipped_dir, digits_test_split):
    from visionrt import runtime
    from visionrt.benchmarks import candidates
    from visionrt.runtime.tasks import images

    reference = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision="fp32")
    batch = images.preprocess(list(digits_test_split[0][:8]), reference.metadata.preprocessing)
    fp16 = [c for c in candidates.runtime_candidates(shipped_dir, ["cuda"])
            if c.precision == "fp16" and c.backend == "tensorrt:cuda"]  # not onnxruntime:cuda, where there is one
    assert fp16[0].prepare().startswith("engine built in ")
    assert fp16[0].prepare().startswith("engine found in the cache: digits-fp16-sm90-")
    for candidate in fp16:
        call, fetch = candidate.load()(batch)
        call()
        np.testing.assert_allclose(fetch(), reference.run(batch), rtol=1e-5, atol=1e-5)


def test_the_tensorrt_bar_takes_the_faster_engine_row_against_eager_fp32_on_cuda():
    def row(name, backend, precision, p50, batch=1):
        return {"name": name, "backend": backend, "device": "cuda", "precision": precision, "timing": "host",
                "batch": batch, "sweep": "batch", "p50_ms": p50}

    rows = [row("pytorch-eager", "pytorch", "fp32", 4.0), row("pytorch-eager", "pytorch", "fp16", 2.0),
            row("visionrt", "tensorrt:cuda", "fp16", 1.25), row("visionrt-cuda-graph", "tensorrt:cuda", "fp16", 0.8),
            row("visionrt-cuda-graph", "tensorrt:cuda", "fp16", 0.1, batch=8)]
    bar = harness.bars(rows, overhead=None)["tensorrt_fp16_vs_eager_fp32_cuda_batch1"]
    assert (bar["value"], bar["met"], bar["row"]) == (5.0, True, "visionrt-cuda-graph")
    assert harness.bars(rows[:2], overhead=None) == {}  # no engine row: no figure, rather than a made-up one


def test_the_report_names_the_registry_batches_it_swept_when_none_were_given(tmp_path):
    pytest.importorskip("torch")
    from visionrt import model_zoo

    if not model_zoo.installed("vae_decoder"):
        pytest.skip("vae_decoder is not in the zoo yet")
    result = harness.run(harness.BenchConfig(model="vae_decoder", warmup=1, iters=3, device="cpu", out=tmp_path,
                                             progress=False))
    swept = list(model_zoo.get("vae_decoder").bench_batches)
    assert result["config"]["batches"] == swept
    assert sorted({r["batch"] for r in result["rows"]}) == sorted(swept)
    assert f"Batches {swept}" in (tmp_path / "bench_vae_decoder.md").read_text()


def test_device_cuda_means_cuda_rows_only_and_auto_adds_them_to_the_cpu_rows():
    from types import SimpleNamespace

    with_gpu = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: True))
    without = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: False))
    assert harness.devices_for(harness.BenchConfig(device="cuda"), with_gpu) == ["cuda"]
    assert harness.devices_for(harness.BenchConfig(device="auto"), with_gpu) == ["cpu", "cuda"]
    assert harness.devices_for(harness.BenchConfig(device="auto"), without) == ["cpu"]
    assert harness.devices_for(harness.BenchConfig(device="cpu"), with_gpu) == ["cpu"]


def test_device_to_host_copies_take_every_output_of_a_multi_output_model():
    torch = pytest.importorskip("torch")
    mu, logvar = torch.zeros(2, 3), torch.ones(2, 3)
    copied = harness.to_host((mu, logvar))
    assert [c.shape for c in copied] == [(2, 3), (2, 3)] and copied[1].sum() == 6
    assert harness.to_host(mu).shape == (2, 3)


def test_batch_of_a_side_enlarges_the_real_pictures_by_nearest_neighbour():
    import numpy as np

    real = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    big = harness.batch_of(real, 1, side=8)
    assert big.shape == (1, 3, 8, 8) and big.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(big[0, :, ::2, ::2], real[0])
    np.testing.assert_array_equal(big[0, :, 1::2, 1::2], real[0])


def test_sizes_add_a_square_sweep_at_batch_1_after_the_batch_sweep():
    config = harness.BenchConfig(model="style", batches=(1, 4), sizes=(256, 512))
    assert harness.shapes_for(config) == [(1, None, None), (4, None, None), (1, None, 256), (1, None, 512)]
    assert [harness.sweep_of(s) for s in harness.shapes_for(config)] == ["batch", "batch", "size", "size"]


def test_sizes_are_refused_for_fixed_size_models_and_outside_the_exported_range():
    with pytest.raises(UserInputError, match=r"faceswap_to_b takes \(3, 64, 64\)"):
        harness.check_sizes(harness.BenchConfig(model="faceswap_to_b", sizes=(128,)))
    with pytest.raises(UserInputError, match=r"--sizes \[4096\] outside style's exported range \[16, 1024\]"):
        harness.check_sizes(harness.BenchConfig(model="style", sizes=(256, 4096)))
    assert {"denoiser", "colorizer", "style"} <= set(harness.sized_models())


def test_a_size_sweep_times_every_row_there_with_psnr_against_eager_fp32(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(harness, "paired_overhead", lambda *args: {})  # thousands of calls; tested above
    config = harness.BenchConfig(model="denoiser", batches=(1,), sizes=(96,), warmup=0, iters=2, device="cpu",
                                 out=tmp_path, progress=False)
    rows = [r for r in harness.run(config)["rows"] if r["sweep"] == "size"]
    assert rows and all((r["height"], r["width"]) == (96, 96) for r in rows)
    fp16 = [r for r in rows if r["precision"] == "fp16"]
    assert fp16 and all(r["psnr_db_vs_eager_fp32"] >= 40 for r in fp16)
    assert "## Latency" in (tmp_path / "bench_denoiser.md").read_text()
    assert (tmp_path / "bench_denoiser.png").read_bytes()[:4] == b"\x89PNG"
