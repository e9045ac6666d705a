"""The dynamic batcher's rules, on a plain function standing in for the engine: what is joined, when a batch
leaves, how far the queue may grow, and whose failure is whose."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from visionrt.serve.batcher import Batcher, BatchPolicy
from visionrt.serve.protocol import Unavailable
from visionrt.serve.statistics import ModelStatistics


def doubled(feeds):
    return [feeds["x"] * 2]


def feeds(rows: int, width: int = 4, start: float = 0.0):
    return {"x": (start + np.arange(rows * width, dtype=np.float32)).reshape(rows, width)}


def run(policy: BatchPolicy, requests, engine=doubled):
    """Submit ``requests`` at once; returns (answers or exceptions, statistics)."""
    statistics = ModelStatistics("m", "1")

    async def main():
        batcher = Batcher(engine, policy, ThreadPoolExecutor(policy.instances), statistics)
        answers = await asyncio.gather(*(batcher.submit(f) for f in requests), return_exceptions=True)
        await batcher.close()
        return answers

    return asyncio.run(main()), statistics


def test_requests_queued_together_run_as_one_batch_and_each_gets_its_own_rows():
    requests = [feeds(1, start=10 * i) for i in range(6)]
    answers, statistics = run(BatchPolicy(max_batch_size=64, preferred=(8, 64), max_delay_s=0.05), requests)
    for request, answer in zip(requests, answers):
        np.testing.assert_array_equal(answer[0], request["x"] * 2)
    assert dict(statistics.batches).keys() == {6} and statistics.execution_count == 1


def test_a_batch_never_exceeds_max_batch_size():
    answers, statistics = run(BatchPolicy(max_batch_size=4, max_delay_s=0.05), [feeds(1) for _ in range(10)])
    assert all(size <= 4 for size in statistics.batches) and statistics.inference_count == 10


def test_a_batch_leaves_at_a_preferred_size_without_waiting_out_the_delay():
    started = time.perf_counter()
    answers, statistics = run(BatchPolicy(max_batch_size=64, preferred=(8,), max_delay_s=5.0), [feeds(1) for _ in range(8)])
    assert time.perf_counter() - started < 2.0 and set(statistics.batches) == {8}


def test_inputs_of_different_shapes_are_not_joined():
    requests = [feeds(1, width=4), feeds(1, width=6), feeds(1, width=4)]
    answers, statistics = run(BatchPolicy(max_batch_size=8, max_delay_s=0.02), requests)
    assert [a[0].shape for a in answers] == [(1, 4), (1, 6), (1, 4)]
    assert statistics.execution_count == 2


def test_with_batching_off_every_request_runs_alone():
    answers, statistics = run(BatchPolicy(max_batch_size=64, enabled=False), [feeds(2) for _ in range(5)])
    assert dict(statistics.batches) == {2: [5, statistics.batches[2][1]]}


def test_a_joined_batch_that_fails_is_rerun_alone_so_only_the_bad_request_fails():
    def engine(f):
        if (f["x"] < 0).any():
            raise RuntimeError("engine refuses negatives")
        return [f["x"] * 2]

    requests = [feeds(1), {"x": -np.ones((1, 4), np.float32)}, feeds(1, start=5)]
    answers, _ = run(BatchPolicy(max_batch_size=8, max_delay_s=0.02), requests, engine)
    assert isinstance(answers[1], RuntimeError)
    np.testing.assert_array_equal(answers[0][0], requests[0]["x"] * 2)
    np.testing.assert_array_equal(answers[2][0], requests[2]["x"] * 2)


def test_a_full_queue_refuses_new_requests_as_unavailable_with_a_retry_hint():
    gate = threading.Event()

    def blocked(f):
        gate.wait(timeout=30)
        return [f["x"]]

    async def main():
        batcher = Batcher(blocked, BatchPolicy(max_batch_size=1, max_queue=3), ThreadPoolExecutor(1), ModelStatistics("m", "1"))
        first = asyncio.ensure_future(batcher.submit(feeds(1)))
        await asyncio.sleep(0.05)  # the worker holds the first; three more fill the queue
        queued = [asyncio.ensure_future(batcher.submit(feeds(1))) for _ in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(Unavailable, match="already queued") as refused:
            await batcher.submit(feeds(1))
        gate.set()
        done = await asyncio.gather(first, *queued)
        await batcher.close()
        return refused.value, done

    refused, done = asyncio.run(main())
    assert refused.retry_after > 0 and len(done) == 4


def test_closing_runs_what_was_queued_then_refuses_more():
    async def main():
        batcher = Batcher(doubled, BatchPolicy(max_batch_size=8, max_delay_s=0.01), ThreadPoolExecutor(1), ModelStatistics("m", "1"))
        queued = [asyncio.ensure_future(batcher.submit(feeds(1))) for _ in range(5)]
        await asyncio.sleep(0)
        closing = asyncio.ensure_future(batcher.close())
        await asyncio.sleep(0)
        with pytest.raises(Unavailable, match="shutting down"):
            await batcher.submit(feeds(1))
        await closing
        return await asyncio.gather(*queued)

    assert len(asyncio.run(main())) == 5


def test_a_fault_in_splitting_a_batch_fails_those_requests_and_the_worker_serves_the_next():
    calls = []

    def engine(f):
        calls.append(len(f["x"]))
        return [np.float32(1.0)] if len(calls) == 1 else [f["x"] * 2]  # first: a scalar that cannot be split

    async def main():
        batcher = Batcher(engine, BatchPolicy(max_batch_size=8, max_delay_s=0.02), ThreadPoolExecutor(1),
                          ModelStatistics("m", "1"))
        first = await asyncio.gather(batcher.submit(feeds(1)), batcher.submit(feeds(1)), return_exceptions=True)
        later = await asyncio.wait_for(batcher.submit(feeds(1, start=3)), 5)
        await batcher.close()
        return first, later

    first, later = asyncio.run(main())
    assert all(isinstance(answer, Exception) for answer in first)
    np.testing.assert_array_equal(later[0], feeds(1, start=3)["x"] * 2)


def test_a_lone_request_gets_its_outputs_whole_whatever_their_first_axis():
    answers, _ = run(BatchPolicy(max_batch_size=0), [feeds(3)], engine=lambda f: [np.arange(10)])
    np.testing.assert_array_equal(answers[0][0], np.arange(10))


def test_requests_whose_inputs_differ_in_batch_size_are_never_joined():
    from visionrt.serve.batcher import shape_key

    assert shape_key({"a": np.zeros((2, 3)), "b": np.zeros((3, 3))}) is None
    assert shape_key({"a": np.zeros((2, 3)), "b": np.zeros((2, 5))}) is not None
