"""Timing statistics and the paired timer."""

import numpy as np
import pytest

from visionrt.benchmarks import timing


def test_summary_statistics_in_milliseconds_and_images_per_second():
    samples = np.array([1_000_000, 2_000_000, 3_000_000, 4_000_000], dtype=np.int64)  # 1..4 ms
    stats = timing.summarize(samples, batch=8)
    assert stats["mean_ms"] == 2.5 and stats["min_ms"] == 1.0 and stats["p50_ms"] == 2.5
    assert stats["p99_ms"] == pytest.approx(3.97)
    assert stats["throughput_ips"] == pytest.approx(8 / 0.0025)


def test_host_timer_runs_warmup_plus_iters_and_measures_real_time():
    calls = []
    samples = timing.time_host(lambda: calls.append(sum(range(2000))), warmup=3, iters=7)
    assert len(calls) == 10 and len(samples) == 7 and (samples > 0).all()


def test_paired_timer_alternates_and_sees_the_slower_call():
    order = []
    slow, fast = timing.time_paired(lambda: (order.append("a"), sum(range(20000))),
                                    lambda: order.append("b"), warmup=1, iters=50)
    assert order[:4] == ["a", "b", "a", "b"]
    assert np.median(slow) > np.median(fast)


def test_concurrent_timer_overlaps_its_threads_and_counts_throughput_over_wall_time():
    """Sleeping releases the GIL, so four threads of 2 ms sleeps take about as long as one: the wall time,
    not the sum of latencies, is what throughput divides by."""
    import time

    samples, wall_ns = timing.time_concurrent(lambda: time.sleep(0.002), threads=4, warmup=1, iters=10)
    assert len(samples) == 40 and (samples >= 2_000_000).all()
    assert wall_ns < 0.6 * samples.sum()  # serial calls would take the whole sum


def test_concurrent_timer_raises_what_a_thread_raised_and_does_not_hang():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("call 5 failed")

    with pytest.raises(RuntimeError, match="call 5 failed"):
        timing.time_concurrent(flaky, threads=3, warmup=1, iters=10)
