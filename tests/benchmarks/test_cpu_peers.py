"""The CPU peers benchmark: interleaved rows on the same weights, ratios within rounds, bars from its own rows."""

import json

import pytest

pytest.importorskip("torch", reason="the eager rows need visionrt[train]")
from visionrt.benchmarks import cpu_peers  # noqa: E402


def test_a_case_times_every_peer_and_visionrt_row_and_judges_the_bars(tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VISIONRT_TUNE_FILE", str(tmp_path / "tuned.json"))
    monkeypatch.setattr(cpu_peers, "SPIN_SETTLE", 0.0)
    case = cpu_peers.measure_case("digits", 1, None, 0.2, False, {"fp32": 100.0, "bf16": 400.0})
    names = [row["row"] for row in case["rows"]]
    eager = ["pytorch-eager fp32", "pytorch-eager bf16-autocast"][: 2 if cpu_peers.native_bf16() else 1]
    assert names[: len(eager) + 1] == [*eager, "onnxruntime-bare"]
    assert "visionrt onnxruntime:cpu" in names and names[-1].startswith("visionrt auto (")
    eager = case["rows"][0]
    assert eager["speedup_vs_eager_fp32"] == 1.0 and len(eager["samples_ms"]) == case["rounds"] >= 5
    assert all(row["max_abs_error_vs_eager_fp32"] < 1e-4 for row in case["rows"] if row["precision"] == "fp32")
    assert case["shape"] == [1, 1, 8, 8] and case["gflop_per_call"] > 0
    assert set(case["bars"]) == {"fastest_peer", "auto_vs_fastest_peer", "auto_at_least_0.9x_fastest_peer",
                                 "auto_at_least_3x_eager_fp32"}
    result = {"environment": {"cpu": "test CPU", "cpu_count": 2, "onnxruntime": "x", "torch": "y"}, "openvino": None,
              "peaks_gflops": {"fp32": 100.0}, "seconds_per_case": 0.2, "cases": [case]}
    assert "## digits 1x1x8x8" in cpu_peers.markdown(result) and cpu_peers.plot(result, tmp_path / "p.png").is_file()
    json.dumps(result)
