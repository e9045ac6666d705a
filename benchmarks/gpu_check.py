"""One command for a GPU machine with no internet: every GPU-capable check the project has, one report.

    python -m visionrt.benchmarks.gpu_check OUTDIR [--iters N] [--compile] [--models NAME ...] [--concurrency N ...]

For each installed zoo model it runs the full benchmark sweep on CUDA (eager PyTorch FP32, ``.half()``,
autocast, optionally ``torch.compile``; every GPU runtime backend this machine has; the CPU rows are left to
``visionrt bench --device cpu``, which they would otherwise dominate), and gathers FP16-against-FP32
parity (max abs error, PSNR for images, top-1 agreement against eager FP32 on real held-out inputs) per model
and shape, the throughput of every host-timed row with 1, 2, 4 and 8 threads calling one loaded model, and, where ONNX
Runtime's CUDA provider is here, each FP16 file against its FP32 file tensor by tensor on the GPU's own FP16
kernels (``visionrt compare``; the CPU provider computes most FP16 ops in FP32).
Writes OUTDIR/gpu_check.{json,md} and each model's bench and compare files under OUTDIR/<model>/.
"""

import argparse
import json
import sys
from pathlib import Path

from visionrt import atomic, model_zoo, runtime
from visionrt.benchmarks import harness, report
from visionrt.errors import UserInputError, VisionRTError

FP16_PRECISIONS = ("fp16", "autocast-fp16")
DEFAULT_CONCURRENCY = (1, 2, 4, 8)


def parity_rows(result: dict) -> list[dict]:
    """FP16 rows of one model's benchmark, with their agreement with eager FP32."""
    return [{"model": result["model"], "name": r["name"], "backend": r["backend"], "device": r["device"],
             "precision": r["precision"], "batch": r["batch"], "width": r["width"], "height": r.get("height"),
             "max_abs_error_vs_eager_fp32": r["max_abs_error_vs_eager_fp32"],
             "psnr_db_vs_eager_fp32": r.get("psnr_db_vs_eager_fp32"),
             "top1_agreement_vs_eager_fp32": r["top1_agreement_vs_eager_fp32"]}
            for r in result["rows"] if r["precision"] in FP16_PRECISIONS and r["timing"] == "host"]


def speedup_rows(result: dict) -> list[dict]:
    """p50 speedup of every CUDA row over eager FP32 at the same shape and timing mode."""
    return [{"model": result["model"], "name": r["name"], "backend": r["backend"], "precision": r["precision"],
             "timing": r["timing"], "batch": r["batch"], "width": r["width"], "height": r.get("height"),
             "p50_ms": r["p50_ms"],
             "speedup_vs_eager_fp32": r["speedup_vs_eager_fp32"]}
            for r in result["rows"] if r["device"] == "cuda"]


def concurrency_rows(result: dict) -> list[dict]:
    """One line per host-timed row of one model: images/s at batch 1 for each thread count swept, and the
    scaling from the fewest to the most threads."""
    lines: dict[tuple, dict] = {}
    for r in result.get("concurrency", []):
        line = lines.setdefault((r["name"], r["backend"], r["precision"]), {
            "model": result["model"], "name": r["name"], "backend": r["backend"], "precision": r["precision"]})
        line[f"ips_{r['threads']}_threads"] = r["throughput_ips"]
        line["scaling"] = r["scaling_vs_fewest_threads"]  # rows come in thread order: the last is the most
    return list(lines.values())


def tensorrt_bar_rows(results: dict[str, dict]) -> list[dict]:
    """Per model, the benchmark's TensorRT FP16 against eager FP32 bar, where a native engine ran."""
    key = "tensorrt_fp16_vs_eager_fp32_cuda_batch1"
    return [{"model": name, **result["bars"][key]} for name, result in results.items() if key in result["bars"]]


def layer_row(name: str, out: Path, device: str = "cuda") -> dict:
    """FP16 against FP32 tensor by tensor on ONNX Runtime's CUDA provider, at batch 1 and the largest size
    the model is swept at (where FP16 ranges matter most), or its default compare shape; report in ``out``."""
    from visionrt.export import compare_report, tensor_compare

    spec = model_zoo.get(name)
    shape = (1, spec.input_shape[0], max(spec.bench_sizes), max(spec.bench_sizes)) if spec.bench_sizes else None
    rows, described, _ = compare_report.compare(name, shape=shape, device=device)
    compare_report.write_report(rows, out, name, described, device, tensor_compare.DEFAULT_MIN_SNR_DB)
    lowest, first = min(rows, key=lambda row: row.snr_db), tensor_compare.first_divergence(rows)
    return {"model": name, "inputs": described, "tensors": len(rows), "lowest_snr_db": round(lowest.snr_db, 1),
            "lowest_at": f"{lowest.node} ({lowest.op_type})",
            "first_under_40_db": f"{first.node} ({first.op_type})" if first else "none"}


def chosen_models(requested: list[str] | None) -> list[str]:
    """The installed zoo models to check: all of them, or the requested ones (each must be installed)."""
    installed = [name for name in model_zoo.names() if model_zoo.installed(name)]
    missing = sorted(set(requested or []) - set(installed))
    if missing:
        raise UserInputError(f"--models names {', '.join(missing)}, not installed here; "
                             f"installed: {', '.join(installed)}")
    return [name for name in installed if name in requested] if requested else installed


def run(out: Path, iters: int, compile_model: bool, models: list[str] | None = None,
        concurrency: tuple[int, ...] = DEFAULT_CONCURRENCY) -> dict:
    import torch

    installed = chosen_models(models)
    if not torch.cuda.is_available():
        raise VisionRTError("gpu_check needs a CUDA GPU visible to torch; none is here")
    results = {}
    for name in installed:
        print(f"== {name}", flush=True)
        config = harness.BenchConfig(model=name, iters=iters, warmup=max(10, iters // 10), device="cuda",
                                     out=out / name, compile=compile_model,
                                     sizes=model_zoo.get(name).bench_sizes, concurrency=tuple(concurrency))
        results[name] = harness.run(config)
    layers_skipped = cuda_provider_problem()
    layers = [layer_row(name, out / name) for name in installed] if layers_skipped is None else []
    summary = {"environment": next(iter(results.values()))["environment"] if results else {},
               "models": installed,
               "fp16_parity": [row for r in results.values() for row in parity_rows(r)],
               "cuda_speedups": [row for r in results.values() for row in speedup_rows(r)],
               "tensorrt_bar": tensorrt_bar_rows(results), "concurrency_threads": list(concurrency),
               "fp16_layers": layers, "fp16_layers_skipped": layers_skipped,
               "concurrency": [row for r in results.values() for row in concurrency_rows(r)],
               "runtime_backends": [{"name": t.name, "available": t.available, "reason": t.reason}
                                    for t in runtime.available_backends()]}
    atomic.write_text(out / "gpu_check.json", json.dumps(summary, indent=1))
    atomic.write_text(out / "gpu_check.md", markdown(summary))
    return summary


def cuda_provider_problem() -> str | None:
    from visionrt.runtime.backends.ort import provider_missing

    try:
        import onnxruntime
    except ImportError as exc:
        return str(exc)
    return provider_missing(onnxruntime, "cuda")


def markdown(summary: dict) -> str:
    parity_columns = ("model", "name", "backend", "precision", "batch", "height", "width",
                      "max_abs_error_vs_eager_fp32", "psnr_db_vs_eager_fp32", "top1_agreement_vs_eager_fp32")
    speed_columns = ("model", "name", "backend", "precision", "timing", "batch", "height", "width", "p50_ms",
                     "speedup_vs_eager_fp32")
    return "\n".join([
        "# GPU check", "", "## Environment", *report.environment_lines(summary["environment"]), "",
        "## Runtime backends on this machine",
        *[f"- {'yes' if b['available'] else 'no'} `{b['name']}`: {b['reason']}" for b in summary["runtime_backends"]], "",
        "## FP16 against eager FP32 (real held-out inputs, host-to-host rows)",
        report.markdown_table(summary["fp16_parity"], parity_columns, parity_columns), "",
        "## CUDA latency and speedup over eager FP32 (p50)",
        report.markdown_table(summary["cuda_speedups"], speed_columns, speed_columns), "",
        f"## TensorRT FP16 against eager FP32, batch 1, host to host (bar >= {harness.MIN_TENSORRT_SPEEDUP}x on "
        "style and colorizer)",
        report.markdown_table(summary["tensorrt_bar"], ("model", "value", "met", "row"),
                              ("model", "speedup", "met", "faster engine row"))
        if summary.get("tensorrt_bar") else "Not measured: no native TensorRT backend ran on this machine.", "",
        *concurrency_section(summary), *layers_section(summary),
        "Per-model tables with every row, cold start and raw samples: `<model>/bench_<model>.{md,json,png}`.", ""])


def concurrency_section(summary: dict) -> list[str]:
    threads = summary.get("concurrency_threads") or []
    if not summary.get("concurrency"):
        return []
    columns = ("model", "name", "backend", "precision", *[f"ips_{n}_threads" for n in sorted(threads)], "scaling")
    headers = ("model", "runner", "backend", "precision", *[f"{n} threads img/s" for n in sorted(threads)],
               "scaling")
    return ["## Concurrency: images/s at batch 1 with N threads calling one loaded model (host timing)",
            report.markdown_table(summary["concurrency"], columns, headers), ""]


def layers_section(summary: dict) -> list[str]:
    columns = ("model", "inputs", "tensors", "lowest_snr_db", "lowest_at", "first_under_40_db")
    title = "## FP16 against FP32 tensor by tensor, ONNX Runtime CUDA (`visionrt compare --device cuda`)"
    if not summary.get("fp16_layers"):
        return [title, f"Not run: {summary.get('fp16_layers_skipped') or 'no model'}.", ""]
    return [title, report.markdown_table(summary["fp16_layers"], columns, columns),
            "Every tensor of each model: `<model>/compare_<model>.{md,json,png}`.", ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visionrt.benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--models", nargs="+", help="check only these zoo models (default: every installed one)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=list(DEFAULT_CONCURRENCY),
                        help="thread counts for the batch-1 concurrency sweep (default 1 2 4 8; none to skip)")
    args = parser.parse_args(argv)
    try:
        summary = run(args.out, args.iters, args.compile, args.models, tuple(args.concurrency))
    except VisionRTError as exc:
        print(f"gpu_check: error: {exc}", file=sys.stderr)
        return 2
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
