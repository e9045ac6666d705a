"""Closed-loop load against a served model, and the same loop against the runtime in-process.

Closed loop: ``c`` clients each send their next request as soon as the previous answer arrives, so the load
on the server is exactly ``c`` requests in flight, and throughput is what the server sustains at that
concurrency (an open-loop generator measures a chosen arrival rate instead). Every answer is checked
against the output the runtime computes in-process for the same input, so a fast server that answers wrongly
shows up as mismatches rather than as speed.

The HTTP and gRPC clients are tritonclient's asyncio clients in one process and on one event loop, so 64
clients are 64 coroutines, not 64 threads contending for one GIL. The in-process loop uses ``c`` threads
calling ``Model.run`` (ONNX Runtime releases the GIL while it computes).
"""

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

@dataclass
class Phase:
    """What one closed-loop window saw: a latency per answered request, and what went wrong."""

    samples_ns: list[int] = field(default_factory=list)
    errors: int = 0  # requests that raised (refused, timed out, connection lost)
    mismatches: int = 0  # answers that differ from the in-process output beyond the tolerance
    first_error: str | None = None
    started_ns: int = 0
    last_end_ns: int = 0

    def add(self, begin_ns: int, end_ns: int, correct: bool) -> None:
        self.samples_ns.append(end_ns - begin_ns)
        self.mismatches += not correct
        self.last_end_ns = max(self.last_end_ns, end_ns)

    def fail(self, exc: BaseException) -> None:
        self.errors += 1
        self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"[:300]

    @classmethod
    def merge(cls, parts: list["Phase"], started_ns: int) -> "Phase":
        merged = cls(started_ns=started_ns)
        for part in parts:
            merged.samples_ns += part.samples_ns
            merged.errors += part.errors
            merged.mismatches += part.mismatches
            merged.first_error = merged.first_error or part.first_error
            merged.last_end_ns = max(merged.last_end_ns, part.last_end_ns)
        return merged

    def summary(self) -> dict:
        wall_ns = self.last_end_ns - self.started_ns if self.samples_ns else 0
        return {**summarize(np.array(self.samples_ns, dtype=np.int64), wall_ns), "errors": self.errors,
                "mismatches": self.mismatches, "first_error": self.first_error}


def summarize(samples_ns: np.ndarray, wall_ns: int) -> dict:
    """Latency percentiles in ms over every answered request; throughput = answers over the window's wall time
    (from its start to the last answer), not over the sum of latencies, which counts overlapping requests twice."""
    if len(samples_ns) == 0:
        return {"requests": 0, "wall_s": wall_ns / 1e9, "throughput_rps": 0.0, "mean_ms": None, "p50_ms": None,
                "p90_ms": None, "p99_ms": None}
    ms = samples_ns.astype(np.float64) / 1e6
    return {"requests": int(len(ms)), "wall_s": wall_ns / 1e9,
            "throughput_rps": len(ms) * 1e9 / wall_ns if wall_ns > 0 else float("inf"),
            "mean_ms": float(ms.mean()), "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99))}


def sample_feeds(model, seed: int = 0) -> dict[str, np.ndarray]:
    """A seeded random batch-1 input per model input, at the size the server warms up with: the profile's opt
    spatial size for the profiled input, 64 for any other dynamic axis."""
    rng = np.random.default_rng(seed)
    profile, feeds = model.profile, {}
    for spec in model.inputs:
        shape = [1] + [size if size is not None else 64 for size in spec.shape[1:]]
        if profile is not None and spec.name == profile.input_name:
            shape = [1, *profile.opt[1:]]
        dtype = np.dtype(spec.dtype)
        if dtype.kind == "f":
            feeds[spec.name] = rng.random(shape).astype(dtype)
        elif dtype.kind == "b":
            feeds[spec.name] = rng.random(shape) < 0.5
        else:
            feeds[spec.name] = rng.integers(0, min(256, int(np.iinfo(dtype).max) + 1), size=shape).astype(dtype)
    return feeds


def outputs_by_name(model, result) -> dict[str, np.ndarray]:
    return dict(result) if isinstance(result, dict) else {model.outputs[0].name: result}


@dataclass(frozen=True)
class Reference:
    """The input every request sends and the output the runtime computes for it in-process, computed once."""

    feeds: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]
    rtol: float = 1e-4
    atol: float = 1e-4  # a batch of 64 may take other kernels than a batch of 1: equal, not bit-equal

    @classmethod
    def of(cls, model, seed: int = 0, rtol: float = 1e-4, atol: float = 1e-4) -> "Reference":
        feeds = sample_feeds(model, seed)
        return cls(feeds, outputs_by_name(model, model.run(feeds)), rtol, atol)

    def check(self, outputs: dict[str, np.ndarray]) -> bool:
        return all(name in outputs and outputs[name] is not None and outputs[name].shape == want.shape
                   and outputs[name].dtype == want.dtype and np.allclose(outputs[name], want, self.rtol, self.atol)
                   for name, want in self.expected.items())


async def closed_loop(send, check, clients: int, seconds: float) -> Phase:
    """``clients`` coroutines, each awaiting ``send()`` again as soon as it returns, until ``seconds`` have
    passed; a request started before then is waited for and counted."""
    phase = Phase(started_ns=time.perf_counter_ns())
    deadline = phase.started_ns + int(seconds * 1e9)

    async def client() -> None:
        while time.perf_counter_ns() < deadline:
            begin = time.perf_counter_ns()
            try:
                outputs = await send()
            except Exception as exc:  # noqa: BLE001 - counted and reported, the loop goes on
                phase.fail(exc)
                continue
            phase.add(begin, time.perf_counter_ns(), check(outputs))

    await asyncio.gather(*(client() for _ in range(clients)))
    return phase


def closed_loop_threads(call, check, threads: int, seconds: float) -> Phase:
    """The closed loop with ``threads`` threads calling ``call()``; the window opens once every thread is
    started (a barrier), and each thread keeps its own tally, merged at the end."""
    parts = [Phase() for _ in range(threads)]
    window = {}

    def open_window() -> None:  # run by one thread once all have arrived, before any is released
        window["start"] = time.perf_counter_ns()
        window["deadline"] = window["start"] + int(seconds * 1e9)

    barrier = threading.Barrier(threads, action=open_window)

    def worker(part: Phase) -> None:
        barrier.wait()
        while time.perf_counter_ns() < window["deadline"]:
            begin = time.perf_counter_ns()
            try:
                outputs = call()
            except Exception as exc:  # noqa: BLE001
                part.fail(exc)
                continue
            part.add(begin, time.perf_counter_ns(), check(outputs))

    workers = [threading.Thread(target=worker, args=(part,), daemon=True) for part in parts]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return Phase.merge(parts, window["start"])


def http_sender(client, model: str, reference: Reference):
    """An async ``send()`` for tritonclient's HTTP aio client, binary tensors both ways. The request objects
    are built once: the client's serialization of the same array is not what is being measured."""
    import tritonclient.http as httpclient
    from tritonclient.utils import np_to_triton_dtype

    inputs = []
    for name, value in reference.feeds.items():
        tensor = httpclient.InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
        tensor.set_data_from_numpy(value, binary_data=True)
        inputs.append(tensor)
    outputs = [httpclient.InferRequestedOutput(name, binary_data=True) for name in reference.expected]

    async def send() -> dict[str, np.ndarray]:
        result = await client.infer(model, inputs, outputs=outputs)
        return {name: result.as_numpy(name) for name in reference.expected}

    return send


def grpc_sender(client, model: str, reference: Reference):
    """The same for the gRPC aio client (tensors travel as raw bytes)."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import np_to_triton_dtype

    inputs = []
    for name, value in reference.feeds.items():
        tensor = grpcclient.InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)
    outputs = [grpcclient.InferRequestedOutput(name) for name in reference.expected]

    async def send() -> dict[str, np.ndarray]:
        result = await client.infer(model, inputs, outputs=outputs)
        return {name: result.as_numpy(name) for name in reference.expected}

    return send


def cpu_seconds(pid: int | None = None) -> float | None:
    """CPU time (user + system, every thread) of this process, or of process ``pid`` from /proc (Linux); None
    where that cannot be read. Over a window, CPU seconds / wall seconds says how many cores a side kept busy:
    a client near one core is the limit itself, whatever the server could do. /proc counts clock ticks (10 ms
    on Linux), so a short, light window may read 0."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after the command's name
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14, 15
    except (OSError, ValueError, IndexError):
        return None


def cores_busy(before: tuple, after: tuple, wall_s: float) -> tuple:
    """(client, server) cores busy over a window from two (client, server) cpu_seconds readings."""
    return tuple(None if a is None or b is None or wall_s <= 0 else (b - a) / wall_s for a, b in zip(before, after))


async def server_statistics(http_client, model: str) -> dict:
    """The model's entry of Triton's statistics extension, read over HTTP."""
    return (await http_client.get_inference_statistics(model))["model_stats"][0]


def statistics_delta(before: dict, after: dict) -> dict:
    """Server-side figures for the requests between two statistics readings: mean queue and compute time per
    request (compute is the batch's, which every request in it waited for) and the mean batch size."""
    def diff(*path):
        a, b = before, after
        for key in path:
            a, b = a.get(key, {}), b.get(key, {})
        return int(b or 0) - int(a or 0)

    executions, inferences = diff("execution_count"), diff("inference_count")
    queued, computed = diff("inference_stats", "queue", "count"), diff("inference_stats", "compute_infer", "count")
    return {"server_requests": diff("inference_stats", "success", "count"),
            "queue_us": diff("inference_stats", "queue", "ns") / queued / 1e3 if queued else None,
            "compute_us": diff("inference_stats", "compute_infer", "ns") / computed / 1e3 if computed else None,
            "batch_size": inferences / executions if executions else None}
