"""Timing primitives: a monotonic host clock for host-to-host calls, CUDA events for device work.

Every function returns the raw per-iteration samples in nanoseconds; statistics are computed from them,
so a report shows the distribution and not one number.
"""

import threading
import time
from typing import Callable

import numpy as np


def time_host(call: Callable[[], object], warmup: int, iters: int) -> np.ndarray:
    """Per-call wall time with ``perf_counter_ns``; the call must return only when its work is done."""
    for _ in range(warmup):
        call()
    samples = np.empty(iters, dtype=np.int64)
    for i in range(iters):
        start = time.perf_counter_ns()
        call()
        samples[i] = time.perf_counter_ns() - start
    return samples


def time_cuda(call: Callable[[], object], warmup: int, iters: int, torch) -> np.ndarray:
    """Per-call device time between CUDA events recorded on the current stream around ``call``."""
    for _ in range(warmup):
        call()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(iters)]
    for start, end in zip(starts, ends):
        start.record()
        call()
        end.record()
    torch.cuda.synchronize()
    return np.array([round(s.elapsed_time(e) * 1e6) for s, e in zip(starts, ends)], dtype=np.int64)


def summarize(samples_ns: np.ndarray, batch: int) -> dict:
    """Latency statistics in milliseconds and throughput in images per second (from the mean)."""
    ms = samples_ns.astype(np.float64) / 1e6
    mean = float(ms.mean())
    return {
        "mean_ms": mean,
        "std_ms": float(ms.std()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "min_ms": float(ms.min()),
        "throughput_ips": batch * 1000.0 / mean if mean > 0 else float("inf"),
    }


def time_paired(call_a: Callable[[], object], call_b: Callable[[], object], warmup: int, iters: int):
    """Alternate two calls (A, B, A, B, ...) so that machine drift and noise hit both alike.

    Used for small differences, such as the runtime's overhead over a bare session, where timing one
    after the other lets a change in machine load pass for a difference between the two.
    """
    for _ in range(warmup):
        call_a()
        call_b()
    a, b = np.empty(iters, dtype=np.int64), np.empty(iters, dtype=np.int64)
    for i in range(iters):
        start = time.perf_counter_ns()
        call_a()
        middle = time.perf_counter_ns()
        call_b()
        a[i], b[i] = middle - start, time.perf_counter_ns() - middle
    return a, b




def time_concurrent(call: Callable[[], object], threads: int, warmup: int, iters: int) -> tuple[np.ndarray, int]:
    """``threads`` threads share ``call``: each makes ``warmup`` untimed calls, then all start ``iters`` timed
    calls together (a barrier). Returns every timed call's latency and the wall time from the first timed
    call's start to the last one's end, both in nanoseconds and both read in the worker threads (the thread
    that waits for them may get the GIL back only after they finish). Throughput is calls over that wall
    time, not over the sum of latencies, which would count overlapping calls twice. An exception in any
    thread is raised here."""
    samples = np.zeros((threads, iters), dtype=np.int64)
    spans = np.zeros((threads, 2), dtype=np.int64)  # per thread: start of its first timed call, end of its last
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def worker(index: int) -> None:
        try:
            for _ in range(warmup):
                call()
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
            errors.append(exc)
        finally:
            barrier.wait()  # every thread must arrive, or the others would wait forever
        try:
            spans[index, 0] = end = time.perf_counter_ns()
            for i in range(0 if errors else iters):
                begin = time.perf_counter_ns()
                call()
                end = time.perf_counter_ns()
                samples[index, i] = end - begin
            spans[index, 1] = end
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        raise errors[0]
    return samples.ravel(), int(spans[:, 1].max() - spans[:, 0].min())
