"""Benchmark reports: JSON with raw samples, a Markdown table, and a PNG plot, written atomically."""

import json
from pathlib import Path

from visionrt import atomic, figures

COLUMNS = ("name", "backend", "device", "precision", "timing", "batch", "height", "width", "mean_ms", "p50_ms",
           "p90_ms", "p99_ms", "min_ms", "throughput_ips", "speedup_vs_eager_fp32", "max_abs_error_vs_eager_fp32",
           "psnr_db_vs_eager_fp32")
HEADERS = ("runner", "backend", "device", "precision", "timing", "batch", "height", "width", "mean ms", "p50 ms",
           "p90 ms", "p99 ms", "min ms", "images/s", "speedup", "max abs err", "PSNR dB")
SWEEPS = {"batch": "batch", "width": "width", "size": "height"}  # each sweep and the row field on its x axis
X_AXIS = {**SWEEPS, "concurrency": "threads"}
CONCURRENCY_COLUMNS = ("name", "backend", "device", "precision", "threads", "p50_ms", "p90_ms", "p99_ms",
                       "throughput_ips", "scaling_vs_fewest_threads")
CONCURRENCY_HEADERS = ("runner", "backend", "device", "precision", "threads", "p50 ms", "p90 ms", "p99 ms",
                       "images/s", "scaling")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4g}"
    return str(value)


def markdown_table(rows: list[dict], columns=COLUMNS, headers=HEADERS) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def environment_lines(env: dict) -> list[str]:
    lines = [f"- CPU: {env['cpu']} ({env['cpu_count']} logical cores); torch threads: {env.get('torch_threads')}",
             f"- python {env['python']}, numpy {env['numpy']}, onnxruntime {env['onnxruntime']} "
             f"({', '.join(env['onnxruntime_providers'])}), torch {env.get('torch')}, visionrt {env['visionrt']}"]
    cuda = env.get("cuda")
    if cuda:
        lines.append(f"- GPU: {cuda['gpu']} (sm {cuda['compute_capability']}, {cuda['memory_gib']} GiB), "
                     f"CUDA {cuda['torch_cuda']}, cuDNN {cuda['cudnn']}, driver: {cuda['driver']}")
    else:
        lines.append("- GPU: none visible to torch")
    return lines


def markdown(result: dict) -> str:
    config = result["config"]
    parts = [f"# Benchmark: {result['model']}", "",
             f"Batches {config['batches']}, {config['warmup']} warm-up and {config['iters']} timed iterations per row. "
             "Speedup is eager PyTorch FP32's p50 on the same device, batch and timing mode divided by the row's p50. "
             "`host` timing: numpy in, numpy out, `perf_counter_ns` (copies and synchronization included); "
             "`cuda-events`: device-resident tensors timed with CUDA events; `device-resident`: ONNX Runtime with "
             "IO binding, input already on the GPU and outputs left there, `perf_counter_ns` around the run. "
             "Max abs error and PSNR (image outputs; peak = the reference's range, at least 1) are against eager "
             "PyTorch FP32 on the CPU, on real test images"
             + (f" (here: {result['eager_source']})" if "eager_source" in result else "")
             + (f"; the size sweep enlarges them to {', '.join(map(str, config['sizes']))} pixels square "
                "(nearest neighbour). " if config.get("sizes") else ". ") +
             "Rows are timed one after another, so differences of a few percent between rows are within machine "
             "noise; the runtime's overhead over a bare session is measured separately, interleaved, below.", "",
             "## Environment", *environment_lines(result["environment"]), "",
             "## Latency", markdown_table(result["rows"]), "",
             "## Cold start (load and first call, batch 1; an engine build before it is reported on its own)",
             markdown_table(result["cold_start"], ("name", "backend", "device", "precision", "timing",
                                                   "load_and_first_call_ms", "prepared", "refused"),
                            ("runner", "backend", "device", "precision", "timing", "ms", "before it", "refused")), ""]
    if result.get("copies"):
        columns = ("batch", "width", "h2d_p50_ms", "compute_p50_ms", "d2h_p50_ms", "copy_share")
        parts += ["## Copies versus compute (eager FP32 on CUDA, CUDA events, p50)",
                  markdown_table(result["copies"], columns, ("batch", "width", "H2D ms", "compute ms", "D2H ms",
                                                             "copy share")), ""]
    if result.get("overhead"):
        overhead = result["overhead"]
        parts += ["## Runtime overhead over a bare onnxruntime session", overhead["method"] + ".", "",
                  markdown_table([{**o, "runtime_us": o["runtime_p50_ms"] * 1e3, "bare_us": o["bare_p50_ms"] * 1e3,
                                   "blocks": ", ".join(f"{b:+.1f}" for b in o["block_overheads_pct"])}
                                  for o in overhead["by_batch"]],
                                 ("batch", "runtime_us", "bare_us", "overhead_pct", "blocks"),
                                 ("batch", "visionrt p50 us", "bare session p50 us", "overhead %", "per block %")), ""]
    if result.get("concurrency"):
        parts += ["## Concurrency (batch 1: N threads calling one loaded model at once, host timing)",
                  "Latency percentiles over every call; images/s over the wall time from the first timed call's "
                  "start to the last one's end; scaling against the fewest threads swept for the same row.", "",
                  markdown_table(result["concurrency"], CONCURRENCY_COLUMNS, CONCURRENCY_HEADERS), ""]
    if result.get("bars"):
        parts += ["## Bars (CPU: set for the digits classifier; TensorRT: for style and colorizer; the same "
                  "figures, for information, for other models)",
                  *[bar_line(name, bar) for name, bar in result["bars"].items()], ""]
    return "\n".join(parts)


def bar_line(name: str, bar: dict) -> str:
    from visionrt.benchmarks.harness import BAR_SOURCES

    return (f"- {name}: {bar['value']:.3g}, bar {bar['bar']} ({BAR_SOURCES.get(name, 'see the README')}): "
            f"{'met' if bar['met'] else 'NOT met'}")


TERMINAL = (("name", "runner"), ("backend", "backend"), ("precision", "precision"), ("timing", "timing"),
            ("batch", "batch"), ("height", "h"), ("width", "w"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
            ("speedup_vs_eager_fp32", "speedup"), ("max_abs_error_vs_eager_fp32", "max err"))


def terminal(result: dict) -> str:
    """The rows in columns that fit a terminal, and the bars; the Markdown report keeps every column."""
    columns, headers = zip(*TERMINAL)
    rows = [[_cell(row.get(c)) for c in columns] for row in result["rows"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))  # noqa: E731
    return "\n".join([line(headers), *(line(r) for r in rows), "",
                      *[bar_line(name, bar) for name, bar in result.get("bars", {}).items()]])


def plot(result: dict, path: Path) -> Path:
    """Latency and throughput against batch; latency against width or square size too where those sweeps ran."""
    plt = figures.pyplot()

    sweeps = {sweep: [r for r in result["rows"] if r.get("sweep", "batch") == sweep] for sweep in SWEEPS}
    sweeps["concurrency"] = result.get("concurrency", [])
    panels = [("batch", "p50_ms", "p50 latency (ms)", f"{result['model']}: latency (lower is better)"),
              ("batch", "throughput_ips", "images / s", "throughput (higher is better)")]
    panels += [(sweep, "p50_ms", "p50 latency at batch 1 (ms)", f"{sweep} sweep at batch 1")
               for sweep in ("width", "size") if sweeps[sweep]]
    if sweeps["concurrency"]:
        panels.append(("concurrency", "throughput_ips", "images / s at batch 1", "threads calling one model"))
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5), dpi=110)
    for ax, (sweep, y, ylabel, title) in zip(axes, panels):
        ax.set_prop_cycle(color=plt.get_cmap("tab20").colors)  # a GPU report has 12 series; tab10 would repeat
        series: dict[str, list[dict]] = {}
        for row in sweeps[sweep]:
            series.setdefault(f"{row['name']} {row['backend']} {row['precision']} [{row['timing']}]", []).append(row)
        for label, rows in series.items():
            style = "--" if rows[0]["name"] == "pytorch-eager" else "-"
            ax.plot([r[X_AXIS[sweep]] for r in rows], [r[y] for r in rows], style, marker="o", label=label)
        ax.set(xscale="log", yscale="log", xlabel=X_AXIS[sweep], ylabel=ylabel, title=title)
        if sweep == "concurrency":  # few, small values: label each thread count plainly
            counts = sorted({r["threads"] for r in sweeps[sweep]})
            ax.set_xticks(counts, [str(c) for c in counts], minor=False)
            ax.set_xticks([], minor=True)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    return figures.save_figure(figure, path)


def write_all(result: dict, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bench_{result['model']}"
    paths = {
        "json": atomic.write_text(folder / f"{stem}.json", json.dumps(result, indent=1)),
        "markdown": atomic.write_text(folder / f"{stem}.md", markdown(result)),
        "plot": plot(result, folder / f"{stem}.png"),
    }
    return paths
