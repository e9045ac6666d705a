"""The serving benchmark's report: JSON (every window of every repeat), a Markdown table and a PNG plot,
written atomically."""

import json
from pathlib import Path

from visionrt import atomic, figures
from visionrt.benchmarks.report import environment_lines, markdown_table

COLUMNS = ("condition", "concurrency", "throughput_rps", "p50_ms", "p90_ms", "p99_ms", "p50_over_in_process_ms",
           "queue_us", "compute_us", "batch_size", "client_cpu_cores", "server_cpu_cores", "errors", "mismatches")
HEADERS = ("condition", "clients", "req/s", "p50 ms", "p90 ms", "p99 ms", "p50 over in-process ms", "queue us",
           "compute us", "batch", "client cores", "server cores", "errors", "wrong answers")
PROTOCOL_NAMES = {"http": "HTTP", "grpc": "gRPC"}
COLORS = {"in-process": "black", "http": "tab:blue", "grpc": "tab:orange"}  # a protocol's two lines share a colour


def method(result: dict) -> str:
    config, reference = result["config"], result["reference"]
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in reference["shapes"].items())
    servers = ("a server already running, as configured" if config["url"] else
               "one server at a time" if config["one_server_at_a_time"] else
               "both servers (with and without dynamic batching) up throughout")
    return (f"Closed loop: at concurrency c, c clients each send their next request (batch 1: {shapes}, seeded "
            f"noise) as soon as the previous answer arrives; {config['seconds']} s timed per level and condition "
            f"after {config['warmup_s']} s of warm-up; the median of {config['repeats']} repeat(s) of the whole "
            f"sweep, the conditions measured in turn at each level, {servers}. Clients: tritonclient's asyncio "
            "HTTP and gRPC clients in one process, binary tensors; in-process: c threads calling "
            "`runtime.load(model).run(x)` in the client process, no server. Every answer is compared with the "
            f"in-process output (rtol {reference['rtol']}, atol {reference['atol']}). Queue and compute are the "
            "server's own statistics over each window, per request (compute is the time of the batch the request "
            "ran in); batch = inferences / executions over the window. Client and server share the machine; "
            "client and server cores are each process's CPU seconds over the window's wall seconds: a client near "
            "one core (one event loop) is itself the limit, and the server's figures then say less about what it "
            "could do.")


def problems(result: dict) -> str | None:
    failed = sum(r["errors"] for r in result["raw"])
    wrong = sum(r["mismatches"] for r in result["raw"])
    if not failed and not wrong:
        return None
    first = next((r["first_error"] for r in result["raw"] if r["first_error"]), None)
    return (f"**THIS RUN HAD ERRORS: {failed} request(s) failed and {wrong} answer(s) differed from the in-process "
            f"output; the rows marked ERRORS are not clean figures.**" + (f" First error: `{first}`" if first else ""))


def table_rows(result: dict) -> list[dict]:
    return [{**row, "condition": row["condition"] + (" (ERRORS)" if row["errors"] or row["mismatches"] else "")}
            for row in result["rows"]]


def ratio_lines(result: dict) -> list[str]:
    protocols = [p for p in PROTOCOL_NAMES if any(p in entry for entry in result["ratios"])]
    if not protocols:
        return []
    rows = [{"concurrency": e["concurrency"], **{p: f"{e[p]:.2f}x" for p in protocols if p in e}}
            for e in result["ratios"]]
    return ["## Dynamic batching: throughput with it over throughput without", "",
            markdown_table(rows, ("concurrency", *protocols), ("clients", *(PROTOCOL_NAMES[p] for p in protocols))),
            ""]


def bar_line(result: dict) -> str:
    bar = result["bar"]
    scope = (f"the bar set for {result['model']}" if bar["applies"] else
             f"for information: the bar is set for digits, not {result['model']}")
    head = (f"- Throughput with dynamic batching at least {bar['ratio']:g}x without it at concurrency "
            f"{bar['concurrency']} ({scope}): ")
    if bar.get("why_not_judged"):
        return head + f"not judged ({bar['why_not_judged']})"
    figures_ = ", ".join(f"{PROTOCOL_NAMES[p]} {v['ratio']:.2f}x ({'met' if v['met'] else 'NOT met'})"
                         for p, v in bar["by_protocol"].items())
    verdict = "met" if bar["met"] else "NOT met"
    if problems(result):
        verdict += ", but the run had errors"
    return head + f"{figures_}: **{verdict}**"


def server_lines(result: dict) -> list[str]:
    lines = []
    for server in result["servers"]:
        killed = server["killed_after_sigterm"]
        ended = f"exited {server['exit_code']}" + (" (killed: SIGTERM did not stop it)" if killed else "")
        clean = server["exit_code"] == 0 and not killed
        lines.append(f"- `visionrt {' '.join(server['command'][2:])}`: {ended}" + ("" if clean else " **(NOT clean)**"))
    return lines or [f"- measured as configured: HTTP {result['config']['url']}, gRPC {result['config']['grpc_url']}"]


def markdown(result: dict) -> str:
    env = result["environment"]
    warning = problems(result)
    parts = [f"# Serving benchmark: {result['model']}", "", method(result), "",
             f"Figures measured on **{env['cpu']}** ({env['cpu_count']} logical cores).", ""]
    parts += [warning, ""] if warning else []
    parts += [markdown_table(table_rows(result), COLUMNS, HEADERS), "", *ratio_lines(result),
              "## Bar", bar_line(result), "", "## Servers", *server_lines(result), "",
              "## Environment", *environment_lines(env), ""]
    return "\n".join(parts)


def plot(result: dict, path: Path) -> Path:
    """Throughput and p50 latency against concurrency (log2), one line per condition."""
    plt = figures.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(13, 5), dpi=110)
    levels = sorted({row["concurrency"] for row in result["rows"]})
    for ax, key, label in ((axes[0], "throughput_rps", "requests / s (higher is better)"),
                           (axes[1], "p50_ms", "p50 latency ms (lower is better)")):
        for condition in result["conditions"]:
            rows = [r for r in result["rows"] if r["condition"] == condition and r[key] is not None]
            mode = condition.split()[0]
            style = "--" if mode == "in-process" else ":" if "no batching" in condition else "-"
            ax.plot([r["concurrency"] for r in rows], [r[key] for r in rows], style, marker="o", label=condition,
                    color=COLORS.get(mode))
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(level) for level in levels])
        ax.set_xticks([], minor=True)
        ax.set(yscale="log", xlabel="concurrent clients (closed loop)", ylabel=label)
    axes[0].set_title(f"{result['model']}: serving throughput ({result['environment']['cpu']})", fontsize=9)
    axes[1].set_title("latency", fontsize=9)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def write_all(result: dict, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bench_serve_{result['model']}"
    return {"json": atomic.write_text(folder / f"{stem}.json", json.dumps(result, indent=1, default=str)),
            "markdown": atomic.write_text(folder / f"{stem}.md", markdown(result)),
            "plot": plot(result, folder / f"{stem}.png")}
