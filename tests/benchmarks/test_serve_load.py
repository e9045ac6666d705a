"""The serving benchmark: its summary arithmetic, its closed loops, its order of measurement, and a real
tiny run against `visionrt serve` subprocesses (one at a time) that answers every request correctly."""

import asyncio
import json
import time

import numpy as np
import pytest

pytest.importorskip("tritonclient.http.aio", reason="the load generator needs tritonclient[http] (visionrt[dev])")
pytest.importorskip("tritonclient.grpc.aio", reason="the load generator needs tritonclient[grpc] (visionrt[dev])")
pytest.importorskip("uvicorn", reason="the server needs visionrt[serve]")

from visionrt.benchmarks import serve_load, serve_report, serve_sweep  # noqa: E402
from visionrt.benchmarks.serve_config import GRPC, HTTP, IN_PROCESS, LoadConfig  # noqa: E402
from visionrt.benchmarks.serve_process import ServerProcess, ServerStartError, parse_endpoints  # noqa: E402


def test_summary_gives_percentiles_in_ms_and_throughput_over_the_window_not_the_latency_sum():
    samples = np.array([1_000_000, 2_000_000, 3_000_000, 4_000_000], dtype=np.int64)  # 1..4 ms
    found = serve_load.summarize(samples, wall_ns=5_000_000)  # 4 answers in 5 ms: overlapping requests
    assert found["requests"] == 4 and found["p50_ms"] == 2.5 and found["mean_ms"] == 2.5
    assert found["p90_ms"] == pytest.approx(3.7) and found["p99_ms"] == pytest.approx(3.97)
    assert found["throughput_rps"] == pytest.approx(800.0)
    empty = serve_load.summarize(np.array([], dtype=np.int64), wall_ns=0)
    assert empty["requests"] == 0 and empty["throughput_rps"] == 0.0 and empty["p50_ms"] is None


def test_async_closed_loop_keeps_every_client_busy_and_counts_errors_and_wrong_answers():
    calls = []

    async def send():
        calls.append(1)
        if len(calls) % 10 == 0:
            raise ConnectionError("refused")
        await asyncio.sleep(0.002)
        return {"y": np.array([len(calls) % 2])}

    phase = asyncio.run(serve_load.closed_loop(send, lambda out: out["y"][0] == 1, clients=4, seconds=0.2))
    found = phase.summary()
    assert found["errors"] >= 1 and found["first_error"] == "ConnectionError: refused"
    assert 0 < found["mismatches"] < found["requests"]
    assert found["throughput_rps"] > 1.5 / 0.002  # four overlapping clients, not one after another


def test_threaded_closed_loop_overlaps_its_threads_and_opens_the_window_once_all_are_started():
    phase = serve_load.closed_loop_threads(lambda: time.sleep(0.002), lambda out: True, threads=4, seconds=0.2)
    found = phase.summary()
    assert found["errors"] == found["mismatches"] == 0 and found["p50_ms"] >= 2.0
    assert found["throughput_rps"] > 1.5 / 0.002
    assert 0.19 < found["wall_s"] < 0.5


def test_reference_accepts_only_the_same_shape_dtype_and_values_within_tolerance():
    ref = serve_load.Reference({"x": np.zeros((1, 2), np.float32)}, {"y": np.array([[1.0, 2.0]], np.float32)})
    assert ref.check({"y": np.array([[1.0, 2.00001]], np.float32)})
    assert not ref.check({"y": np.array([[1.0, 2.01]], np.float32)})
    assert not ref.check({"y": np.array([1.0, 2.0], np.float32)})  # the batch axis lost
    assert not ref.check({"y": np.array([[1.0, 2.0]], np.float64)})
    assert not ref.check({"z": np.array([[1.0, 2.0]], np.float32)})


def test_statistics_delta_gives_per_request_queue_and_compute_and_the_mean_batch():
    def stats(requests, executions, queue_ns, compute_ns):
        return {"inference_count": requests, "execution_count": executions,
                "inference_stats": {"success": {"count": requests, "ns": 0},
                                    "queue": {"count": requests, "ns": queue_ns},
                                    "compute_infer": {"count": requests, "ns": compute_ns}}}

    found = serve_load.statistics_delta(stats(10, 10, 5_000, 9_000), stats(74, 18, 69_000, 137_000))
    assert found == {"server_requests": 64, "queue_us": 1.0, "compute_us": 2.0, "batch_size": 8.0}
    idle = serve_load.statistics_delta(stats(3, 3, 1, 1), stats(3, 3, 1, 1))
    assert idle["queue_us"] is None and idle["batch_size"] is None


def test_cpu_time_of_another_process_reads_like_our_own_and_busy_cores_divide_by_the_window():
    import os
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("another process's CPU time is read from /proc")
    sum(range(2_000_000))  # some CPU time to read
    ours, theirs = serve_load.cpu_seconds(), serve_load.cpu_seconds(os.getpid())
    assert theirs == pytest.approx(ours, abs=0.05) and serve_load.cpu_seconds(2**22 + 7) is None
    assert serve_load.cores_busy((1.0, None), (1.5, 2.0), wall_s=0.25) == (2.0, None)


def test_conditions_are_interleaved_at_each_level_and_one_server_at_a_time_alternates_which_goes_first():
    conditions = serve_sweep.conditions_for(LoadConfig(model="m"))
    assert [c.label for c in conditions] == ["in-process", "http batching", "http no batching", "grpc batching",
                                             "grpc no batching"]
    [(alive, steps)] = serve_sweep.schedule(conditions, (1, 8), repeats=2)
    assert alive == (True, False) and len(steps) == 2 * 2 * 5
    assert [c.label for _, level, c in steps[:5]] == [c.label for c in conditions] and steps[5][1] == 8
    blocks = serve_sweep.schedule(conditions, (1, 8), repeats=2, together=False)
    assert [alive for alive, _ in blocks] == [(True,), (False,), (False,), (True,)]
    for alive, block in blocks:
        assert all(c.mode == IN_PROCESS or c.batching == alive[0] for _, _, c in block)
    one_at_a_time = sorted((r, level, c.label) for _, block in blocks for r, level, c in block)
    assert one_at_a_time == sorted((r, level, c.label) for r, level, c in steps)  # the same windows, reordered
    external = serve_sweep.conditions_for(LoadConfig(model="m", url="h:1"))
    assert [c.label for c in external] == ["in-process", "http as configured"]  # no --grpc-url: HTTP only


def test_ratios_and_the_bar_come_from_the_runs_own_throughputs():
    rows = [{"mode": m, "batching": b, "concurrency": 32, "throughput_rps": t}
            for m, b, t in ((HTTP, True, 900.0), (HTTP, False, 300.0), (GRPC, True, 500.0), (GRPC, False, 400.0))]
    ratios = serve_sweep.batching_ratios(rows)
    assert ratios == [{"concurrency": 32, HTTP: 3.0, GRPC: 1.25}]
    judged = serve_sweep.bar("digits", ratios, external=False)
    assert judged["applies"] and judged["by_protocol"][HTTP]["met"] and not judged["by_protocol"][GRPC]["met"]
    assert judged["met"] is False
    assert serve_sweep.bar("digits", [{"concurrency": 8, HTTP: 3.0}], external=False)["met"] is None


def test_the_servers_first_line_gives_its_ports_and_anything_else_is_refused():
    line = "visionrt serve: HTTP 127.0.0.1:39729, gRPC 127.0.0.1:40459, metrics 127.0.0.1:46515/metrics (live; ...)"
    assert vars(parse_endpoints(line)) == {"http": "127.0.0.1:39729", "grpc": "127.0.0.1:40459",
                                           "metrics": "127.0.0.1:46515"}
    with pytest.raises(ServerStartError, match="first line"):
        parse_endpoints("Traceback (most recent call last):")


def test_a_server_that_cannot_start_is_reported_with_its_own_words():
    with pytest.raises(ServerStartError, match="(?s)exited with status 2 before it was ready.*no model .no_such_model"):
        with ServerProcess("no_such_model", batching=True):
            pass


def test_a_tiny_sweep_against_real_servers_answers_every_request_correctly_and_writes_its_report(tmp_path):
    config = LoadConfig(model="digits", concurrency=(1, 4), seconds=0.3, warmup_s=0.1, repeats=1,
                                    one_server_at_a_time=True, out=tmp_path)
    result = serve_sweep.run(config)
    assert result["errors"] == 0 and len(result["rows"]) == 2 * 5
    for row in result["rows"]:
        assert row["errors"] == row["mismatches"] == 0 and row["throughput_rps"] > 0 and row["requests"] > 0
        if row["mode"] != IN_PROCESS:
            assert row["server_requests"] == row["requests"]  # the statistics cover exactly the timed window
            assert row["batch_size"] >= 1 and row["compute_us"] > 0 and row["queue_us"] >= 0
            assert row["client_cpu_cores"] > 0 and row["server_cpu_cores"] >= 0  # /proc counts 10 ms ticks
            if row["batching"] is False:
                assert row["batch_size"] == 1
    assert sum(row["server_cpu_cores"] or 0 for row in result["rows"]) > 0
    assert [s["exit_code"] for s in result["servers"]] == [0, 0]
    assert [s["batching"] for s in result["servers"]] == [True, False]
    paths = serve_report.write_all(result, tmp_path)
    assert json.loads(paths["json"].read_text())["rows"][0]["condition"] == "in-process"
    text = paths["markdown"].read_text()
    assert "| grpc no batching | 4 |" in text and result["environment"]["cpu"] in text and "ERRORS" not in text
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_running_server_is_measured_as_configured_and_a_wrong_answer_is_caught(tmp_path):
    import tritonclient.http.aio as http_aio

    with ServerProcess("digits", batching=True) as server:
        config = LoadConfig(model="digits", concurrency=(2,), seconds=0.3, warmup_s=0.1, repeats=1,
                                        url=server.endpoints.http, grpc_url=server.endpoints.grpc)
        result = serve_sweep.run(config)

        async def wrongly_expected():
            reference = serve_load.Reference.of(_digits(), seed=1)
            wrong = serve_load.Reference(reference.feeds, {k: v + 1 for k, v in reference.expected.items()})
            client = http_aio.InferenceServerClient(server.endpoints.http)
            try:
                send = serve_load.http_sender(client, "digits", wrong)
                return await serve_load.closed_loop(send, wrong.check, clients=2, seconds=0.1)
            finally:
                await client.close()

        phase = asyncio.run(wrongly_expected())
    assert server.exit_code == 0 and not server.killed
    assert result["conditions"] == ["in-process", "http as configured", "grpc as configured"]
    assert result["errors"] == 0 and result["servers"] == [] and result["bar"]["met"] is None
    assert len(phase.samples_ns) > 0 and phase.mismatches == len(phase.samples_ns)
    assert "as configured" in serve_report.markdown(result) and "not judged" in serve_report.markdown(result)


def _digits():
    from visionrt import runtime

    return runtime.load("digits")


def test_the_command_checks_its_arguments_and_defaults_the_folder_to_the_model(tmp_path):
    import argparse

    from visionrt.benchmarks.serve_command import add_bench_serve, config_from
    from visionrt.errors import UserInputError

    parser = argparse.ArgumentParser()
    add_bench_serve(parser.add_subparsers())
    config = config_from(parser.parse_args(["bench-serve", "digits", "--concurrency", "1", "4", "4"]))
    assert config.concurrency == (1, 4) and str(config.out) == "bench-out/serve-digits"
    assert config.protocols == (HTTP, GRPC) and config.seconds == 2.0 and config.repeats == 2
    with pytest.raises(UserInputError, match="--grpc-url needs --url"):
        config_from(parser.parse_args(["bench-serve", "digits", "--grpc-url", "h:1"]))
    with pytest.raises(UserInputError, match="--concurrency"):
        config_from(parser.parse_args(["bench-serve", "digits", "--concurrency", "0"]))
