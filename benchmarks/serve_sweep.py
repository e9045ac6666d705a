"""The serving benchmark's sweep: which conditions, in which order, against which servers, and the medians.

Fairness: machine load drifts (another job starts, the CPU warms and clocks down), so the conditions are
measured in turn at each concurrency level (in-process, HTTP with and without batching, gRPC with and
without) rather than one whole sweep after another, with both servers alive throughout; and the whole
sweep repeats, the report giving the median over repeats. ``one_server_at_a_time`` is for machines that
should not hold two servers: each repeat then measures one server's conditions over every level, then the
other's, alternating which goes first.
"""

import asyncio
import contextlib
import sys
from dataclasses import dataclass

import numpy as np

from visionrt.benchmarks.serve_config import GRPC, HTTP, IN_PROCESS, Condition, LoadConfig
from visionrt.benchmarks.serve_load import (Reference, closed_loop, closed_loop_threads, cores_busy, cpu_seconds,
                                            grpc_sender, http_sender, outputs_by_name, server_statistics,
                                            statistics_delta)

MEDIANS = ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "throughput_rps", "queue_us", "compute_us", "batch_size",
           "client_cpu_cores", "server_cpu_cores")
SUMS = ("requests", "errors", "mismatches", "server_requests")
BAR = {"model": "digits", "concurrency": 32, "ratio": 2.0}  # what serving is judged by: batching at least 2x at c=32


def conditions_for(config: LoadConfig) -> list[Condition]:
    settings = (None,) if config.url else (True, False)
    conditions = [Condition(IN_PROCESS)]
    for protocol in config.protocols:
        if protocol == GRPC and config.url and not config.grpc_url:
            continue
        conditions += [Condition(protocol, setting) for setting in settings]
    return conditions


def schedule(conditions: list[Condition], levels, repeats: int, together: bool = True) -> list[tuple[tuple, list]]:
    """Blocks of (repeat, level, condition) steps, each with the server settings that must be up during it."""
    settings = list(dict.fromkeys(c.batching for c in conditions if c.mode != IN_PROCESS))
    if together or len(settings) <= 1:
        return [(tuple(settings), [(r, level, c) for r in range(repeats) for level in levels for c in conditions])]
    blocks = []
    for r in range(repeats):
        order = settings if r % 2 == 0 else settings[::-1]
        for i, setting in enumerate(order):
            steps = [(r, level, c) for level in levels for c in conditions
                     if (c.mode == IN_PROCESS and i == 0) or (c.mode != IN_PROCESS and c.batching == setting)]
            blocks.append(((setting,), steps))
    return blocks


@dataclass
class Target:
    """A server under measurement: its clients, its senders, and the process if this sweep started it."""

    http: object
    senders: dict
    server: object = None


@contextlib.asynccontextmanager
async def targets(config: LoadConfig, settings: tuple, reference: Reference, clients: int):
    """Servers for ``settings`` (True/False: started here with/without batching; None: --url), with clients."""
    import tritonclient.grpc.aio as grpc_aio
    import tritonclient.http.aio as http_aio

    from visionrt.benchmarks.serve_process import ServerProcess

    async with contextlib.AsyncExitStack() as stack:
        alive = {}
        for setting in settings:
            server = None
            http_url, grpc_url = config.url, config.grpc_url
            if setting is not None:
                server = ServerProcess(config.model, setting)
                await asyncio.to_thread(stack.enter_context, server)
                http_url, grpc_url = server.endpoints.http, server.endpoints.grpc
            http = http_aio.InferenceServerClient(http_url, conn_limit=max(100, clients + 8))
            stack.push_async_callback(http.close)
            senders = {HTTP: http_sender(http, config.model, reference)}
            if grpc_url and GRPC in config.protocols:
                grpc = grpc_aio.InferenceServerClient(grpc_url)
                stack.push_async_callback(grpc.close)
                senders[GRPC] = grpc_sender(grpc, config.model, reference)
            alive[setting] = Target(http, senders, server)
        yield alive


async def measure(condition: Condition, level: int, target: Target | None, model, reference: Reference,
                  config: LoadConfig) -> dict:
    """One window of one condition at one level, after its own warm-up; server figures from the statistics
    read before and after it."""
    row = {"condition": condition.label, "mode": condition.mode, "batching": condition.batching, "concurrency": level}
    cpu = lambda: cpu_now(target)  # noqa: E731
    if condition.mode == IN_PROCESS:
        def call():
            return outputs_by_name(model, model.run(reference.feeds))

        await asyncio.to_thread(closed_loop_threads, call, reference.check, level, config.warmup_s)
        started = cpu()
        phase = await asyncio.to_thread(closed_loop_threads, call, reference.check, level, config.seconds)
        ended = cpu()
        server = {"server_requests": None, "queue_us": None, "compute_us": None, "batch_size": None}
    else:
        send = target.senders[condition.mode]
        await closed_loop(send, reference.check, level, config.warmup_s)
        before = await server_statistics(target.http, config.model)
        started = cpu()
        phase = await closed_loop(send, reference.check, level, config.seconds)
        ended = cpu()
        server = statistics_delta(before, await server_statistics(target.http, config.model))
    summary = phase.summary()
    busy = cores_busy(started, ended, summary["wall_s"])
    return {**row, **summary, **server, "client_cpu_cores": busy[0], "server_cpu_cores": busy[1]}


def cpu_now(target: Target | None) -> tuple:
    """(client, server) CPU seconds; the server's only where this sweep started it (and so knows its pid)."""
    server = target.server if target is not None else None
    return cpu_seconds(), cpu_seconds(server.process.pid) if server is not None else None


async def sweep(config: LoadConfig, progress=None) -> dict:
    """Every condition at every level, ``repeats`` times; raw windows, medians, ratios and the bar."""
    from visionrt import runtime
    from visionrt.benchmarks.environment import fingerprint

    model = runtime.load(config.model)
    reference = Reference.of(model, config.seed, config.rtol, config.atol)
    conditions = conditions_for(config)
    raw, servers = [], []
    for settings, steps in schedule(conditions, config.concurrency, config.repeats, not config.one_server_at_a_time):
        async with targets(config, settings, reference, max(config.concurrency)) as alive:
            for repeat, level, condition in steps:
                target = None if condition.mode == IN_PROCESS else alive[condition.batching]
                found = await measure(condition, level, target, model, reference, config)
                raw.append({**found, "repeat": repeat})
                if progress:
                    progress(progress_line(raw[-1], config.repeats))
        servers += [target.server for target in alive.values() if target.server is not None]
    rows = aggregate(raw, conditions, config.concurrency)
    ratios = batching_ratios(rows)
    return {"model": config.model, "config": config_record(config), "environment": fingerprint(),
            "conditions": [c.label for c in conditions],
            "reference": {"shapes": {k: list(v.shape) for k, v in reference.feeds.items()}, "rtol": config.rtol,
                          "atol": config.atol, "seed": config.seed, "in_process_model": model.describe()},
            "rows": rows, "ratios": ratios, "bar": bar(config.model, ratios, bool(config.url)),
            "servers": [server.record() for server in servers],
            "errors": sum(r["errors"] + r["mismatches"] for r in raw), "raw": raw}


def run(config: LoadConfig, progress=None) -> dict:
    return asyncio.run(sweep(config, progress))


def progress_line(found: dict, repeats: int) -> str:
    text = (f"  c={found['concurrency']:<3} {found['condition']:<17} {found['throughput_rps']:9.1f} req/s  "
            f"p50 {_ms(found['p50_ms'])}  p99 {_ms(found['p99_ms'])}")
    if found["batch_size"] is not None:
        text += f"  batch {found['batch_size']:.2f}"
    if found["errors"] or found["mismatches"]:
        text += f"  ERRORS {found['errors']} MISMATCHES {found['mismatches']}: {found['first_error']}"
    return text + f"  (repeat {found['repeat'] + 1}/{repeats})"


def _ms(value) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def config_record(config: LoadConfig) -> dict:
    return {**vars(config), "concurrency": list(config.concurrency), "protocols": list(config.protocols),
            "out": None if config.out is None else str(config.out), "python": sys.executable}


def aggregate(raw: list[dict], conditions: list[Condition], levels) -> list[dict]:
    """Per condition and level: the median of each figure over repeats, counts summed, and the p50 cost of
    the network hop (the row's p50 less in-process p50 at the same concurrency)."""
    rows = []
    for level in levels:
        for condition in conditions:
            runs = [m for m in raw if m["condition"] == condition.label and m["concurrency"] == level]
            row = {"condition": condition.label, "mode": condition.mode, "batching": condition.batching,
                   "concurrency": level, "repeats": len(runs),
                   "throughput_by_repeat": [m["throughput_rps"] for m in runs],
                   "first_error": next((m["first_error"] for m in runs if m["first_error"]), None)}
            for key in MEDIANS:
                values = [m[key] for m in runs if m[key] is not None]
                row[key] = float(np.median(values)) if values else None
            for key in SUMS:
                values = [m[key] for m in runs if m[key] is not None]
                row[key] = int(sum(values)) if values else None
            rows.append(row)
        local = next((r for r in rows if r["concurrency"] == level and r["mode"] == IN_PROCESS), None)
        for row in rows[-len(conditions):]:
            comparable = local and row is not local and None not in (row["p50_ms"], local["p50_ms"])
            row["p50_over_in_process_ms"] = row["p50_ms"] - local["p50_ms"] if comparable else None
    return rows


def batching_ratios(rows: list[dict]) -> list[dict]:
    """Throughput with batching over without, per level and protocol (where both were measured)."""
    found = {(r["mode"], r["batching"], r["concurrency"]): r["throughput_rps"] for r in rows}
    ratios = []
    for level in dict.fromkeys(r["concurrency"] for r in rows):
        entry = {"concurrency": level}
        for protocol in (HTTP, GRPC):
            on, off = found.get((protocol, True, level)), found.get((protocol, False, level))
            if on is not None and off:
                entry[protocol] = on / off
        ratios.append(entry)
    return ratios


def bar(model: str, ratios: list[dict], external: bool) -> dict:
    """The issue's bar, judged on this run's own ratios; it is set for the digits model and reported for
    information for any other."""
    judged = {"concurrency": BAR["concurrency"], "ratio": BAR["ratio"], "applies": model == BAR["model"],
              "by_protocol": {}, "met": None}
    entry = next((e for e in ratios if e["concurrency"] == BAR["concurrency"]), None)
    if external or entry is None:
        judged["why_not_judged"] = ("a server measured as configured has no without-batching twin" if external
                                    else f"concurrency {BAR['concurrency']} was not in the sweep")
        return judged
    judged["by_protocol"] = {p: {"ratio": entry[p], "met": entry[p] >= BAR["ratio"]}
                             for p in (HTTP, GRPC) if p in entry}
    judged["met"] = all(v["met"] for v in judged["by_protocol"].values()) if judged["by_protocol"] else None
    return judged
