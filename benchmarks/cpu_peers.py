"""visionrt against what a CPU user would pick instead, on the same weights, timed interleaved.

    python -m visionrt.benchmarks.cpu_peers OUT [--models digits style ...] [--seconds 6] [--compile]

Per model and shape, every round times each row once, in turn (the median call of a short block, after an
untimed call), so that a change of load on a shared machine hits all rows alike; each row's ratio to eager PyTorch FP32 is taken within a round and reported as the
median over rounds with its spread (p10..p90). Rows: eager PyTorch FP32 and BF16 autocast (where the CPU has BF16 instructions; and
``torch.compile`` with --compile), a bare ONNX Runtime session and bare OpenVINO with its default hints (what
a user gets from `compile_model(path, "CPU")`, which on a BF16 CPU computes in BF16, read back and shown),
visionrt on each CPU backend, and visionrt ``auto`` after ``visionrt tune``. Achieved GFLOP/s come from the
model's multiply-accumulates at that shape, and the share of peak is against a matrix-product peak measured
in the same run for the precision the row computes at. Writes cpu_peers.{json,md,png}.
"""

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from visionrt import atomic, figures, model_zoo
from visionrt.benchmarks import environment
from visionrt.benchmarks.candidates import merge_outputs
from visionrt.runtime.tuning import SPIN_SETTLE  # a spinning session's row gets time to settle after its turn

# Batch 1 at a small size, and a compute-bound shape: (batch, side for image models / width for the reader).
SHAPES = {"digits": [(1, None), (64, None)], "digit_reader": [(1, 128), (1, 512)], "denoiser": [(1, 64), (1, 256)],
          "colorizer": [(1, 64), (1, 256)], "style": [(1, 64), (1, 256)], "faceswap_to_b": [(1, None), (64, None)],
          "vae_decoder": [(1, None), (256, None)], "vae_encoder": [(1, None), (256, None)]}
CONVOLUTIONAL = ("denoiser", "colorizer", "style", "faceswap_to_b", "digits")  # the 3x-eager bar's models
PEERS = ("pytorch-eager fp32", "pytorch-eager bf16-autocast", "torch.compile fp32", "onnxruntime-bare",
         "openvino-bare defaults")


@dataclass
class Row:
    name: str
    call: Callable[[], object]
    precision: str  # what it computes at: "fp32", "bf16", ...
    settle_s: float = 0.0  # pause after its turn while its worker threads stop spinning (not timed)


def batch_for(model: str, size: int, extent: int | None) -> np.ndarray:
    """Real held-out inputs at ``size``, enlarged (image models) or cropped/padded (the reader) to ``extent``."""
    from visionrt.benchmarks.harness import batch_of
    from visionrt.train import checkpoint

    spec = model_zoo.get(model)
    real = model_zoo.resolve(spec.validation_data)(checkpoint.load(model_zoo.model_dir(model) / "weights.pt"))
    real = next(iter(real.values())) if isinstance(real, dict) else real
    if model == "digit_reader":
        return np.ascontiguousarray(batch_of(real, size, width=extent))
    return np.ascontiguousarray(batch_of(real, size, side=extent))


def native_bf16() -> bool:
    from visionrt.runtime.machine import cpu_flags

    return bool({"avx512_bf16", "amx_bf16"} & set(cpu_flags()))


def eager_rows(model: str, batch: np.ndarray, compile_model: bool) -> tuple[list[Row], object]:
    import torch

    from visionrt.train import checkpoint

    net = checkpoint.build_model(checkpoint.load(model_zoo.model_dir(model) / "weights.pt")).eval()
    x = torch.from_numpy(batch)

    def eager():
        with torch.inference_mode():
            return net(x)

    def autocast():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return net(x)

    rows = [Row("pytorch-eager fp32", eager, "fp32")]
    if native_bf16():  # elsewhere BF16 is emulated: seconds a call at 256 px, a peer nobody would pick
        rows.append(Row("pytorch-eager bf16-autocast", autocast, "bf16"))
    if compile_model:
        compiled = torch.compile(net)

        def compiled_call():
            with torch.inference_mode():
                return compiled(x)

        rows.append(Row("torch.compile fp32", compiled_call, "fp32"))
    return rows, net


def bare_rows(model: str, batch: np.ndarray) -> list[Row]:
    import onnxruntime

    path = str(model_zoo.model_dir(model) / "1" / "model.onnx")
    name = model_zoo.get(model).input_name
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    rows = [Row("onnxruntime-bare", lambda: session.run(None, {name: batch}), "fp32", settle_s=SPIN_SETTLE)]
    try:
        import openvino
    except ImportError:
        return rows
    compiled = openvino.Core().compile_model(path, "CPU")  # the defaults a user gets
    request = compiled.create_infer_request()
    hint = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    rows.append(Row("openvino-bare defaults", lambda: tuple(request.infer({name: batch}).values()),
                    {"f32": "fp32"}.get(hint, hint)))
    return rows


def visionrt_rows(model: str, batch: np.ndarray) -> list[Row]:
    """visionrt on each CPU target at FP32 and, where a gated INT8 file is installed, at INT8."""
    from visionrt import runtime
    from visionrt.errors import VisionRTError
    from visionrt.runtime import source

    have = source.resolve(model).precisions()
    rows = []
    for target in runtime.available_backends():
        if not target.available or target.on_gpu:
            continue
        for precision in [p for p in ("fp32", "int8") if p in have]:
            try:
                loaded = runtime.load(model, backend=target.name, precision=precision)
            except VisionRTError:  # OpenVINO refuses the reader's INT8 LSTM graph; tune records why
                continue
            rows.append(Row(f"visionrt {target.name}{'' if precision == 'fp32' else ' int8'}",
                            lambda m=loaded: m.run(batch), precision))
    auto = runtime.load(model)
    described = auto.describe()
    rows.append(Row(f"visionrt auto ({described['backend']})", lambda: auto.run(batch), auto.precision,
                    settle_s=SPIN_SETTLE if described.get("threads_spin") else 0.0))
    return rows


def matmul_peaks(seconds: float = 1.0) -> dict[str, float]:
    """GFLOP/s of a 1024x1024 matrix product in torch, per precision, best of repeated calls."""
    import torch

    peaks = {}
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))[: 2 if native_bf16() else 1]:
        a, b = torch.randn(1024, 1024, dtype=dtype), torch.randn(1024, 1024, dtype=dtype)
        torch.mm(a, b)
        best, deadline = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - started)
        peaks[precision] = 2 * 1024**3 / best / 1e9
    return peaks


def interleaved_rounds(rows: list[Row], seconds: float) -> np.ndarray:
    """(rounds, rows) array of ms: each round times every row once, in turn (``tuning.interleaved``)."""
    from visionrt.runtime.tuning import interleaved

    for row in rows:
        row.call()
    samples = interleaved({index: row.call for index, row in enumerate(rows)}, seconds,
                          settle={index: row.settle_s for index, row in enumerate(rows)})
    return np.stack([samples[index] for index in range(len(rows))], axis=1)


def measure_case(model: str, size: int, extent: int | None, seconds: float, compile_model: bool,
                 peaks: dict[str, float]) -> dict:
    import torch

    from visionrt.export.card import count_macs

    batch = batch_for(model, size, extent)
    eager, net = eager_rows(model, batch, compile_model)
    rows = eager + bare_rows(model, batch) + visionrt_rows(model, batch)
    reference = merge_outputs(eager[0].call())
    samples = interleaved_rounds(rows, seconds)
    ratios = samples[:, :1] / samples  # eager FP32 over the row, within each round
    flops = 2 * count_macs(net, torch.from_numpy(batch))
    found = []
    for index, row in enumerate(rows):
        p50 = float(np.median(samples[:, index]))
        output = merge_outputs(row.call())
        found.append({
            "row": row.name, "precision": row.precision, "p50_ms": round(p50, 4),
            "speedup_vs_eager_fp32": round(float(np.median(ratios[:, index])), 3),
            "speedup_p10_p90": [round(float(v), 3) for v in np.percentile(ratios[:, index], [10, 90])],
            "gflops": round(flops / p50 / 1e6, 2), "share_of_peak": round(flops / p50 / 1e6 / peaks[row.precision], 3)
            if row.precision in peaks else None,
            "max_abs_error_vs_eager_fp32": float(np.abs(np.asarray(output, np.float32) - reference).max()),
            "samples_ms": samples[:, index].round(4).tolist()})
    return {"model": model, "shape": list(batch.shape), "rounds": len(samples), "gflop_per_call": flops / 1e9,
            "rows": found, "bars": bars(model, found, size == 1)}


def bars(model: str, rows: list[dict], batch1: bool) -> dict:
    peers = [r for r in rows if any(r["row"].startswith(p) for p in PEERS)]
    auto = next(r for r in rows if r["row"].startswith("visionrt auto"))
    fastest = min(peers, key=lambda r: r["p50_ms"])
    found = {"fastest_peer": fastest["row"], "auto_vs_fastest_peer": round(fastest["p50_ms"] / auto["p50_ms"], 3),
             "auto_at_least_0.9x_fastest_peer": fastest["p50_ms"] / auto["p50_ms"] >= 0.9}
    if batch1 and model in CONVOLUTIONAL:
        found["auto_at_least_3x_eager_fp32"] = auto["speedup_vs_eager_fp32"] >= 3.0
    return found


def markdown(result: dict) -> str:
    env = result["environment"]
    lines = [f"# CPU peers, interleaved ({env['cpu']}, {env['cpu_count']} cores)", "",
             f"ISA flags: {', '.join(env.get('cpu_flags', [])) or 'none listed'}; matrix-product peaks measured in this "
             f"run: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in result["peaks_gflops"].items()) + ". "
             f"Each round times every row once, in turn; speedup is eager PyTorch FP32 over the row within a round, "
             f"median over rounds (p10..p90 in brackets). Same weights, real held-out inputs. onnxruntime "
             f"{env['onnxruntime']}, openvino {result['openvino']}, torch {env.get('torch')}.", ""]
    for case in result["cases"]:
        lines += [f"## {case['model']} {'x'.join(map(str, case['shape']))} ({case['gflop_per_call']:.3g} GFLOP, "
                  f"{case['rounds']} rounds)", "",
                  "| row | computes at | p50 ms | speedup vs eager FP32 | GFLOP/s | share of peak | max abs err |",
                  "|---|---|---|---|---|---|---|"]
        for r in case["rows"]:
            share = f"{r['share_of_peak']:.1%}" if r["share_of_peak"] is not None else "-"
            lines.append(f"| {r['row']} | {r['precision']} | {r['p50_ms']:.4g} | {r['speedup_vs_eager_fp32']:.2f}x "
                         f"({r['speedup_p10_p90'][0]:.2f}..{r['speedup_p10_p90'][1]:.2f}) | {r['gflops']:.3g} | "
                         f"{share} | {r['max_abs_error_vs_eager_fp32']:.1e} |")
        lines += ["", "Bars: " + ", ".join(f"{k} {v}" for k, v in case["bars"].items()), ""]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> Path:
    plt = figures.pyplot()
    cases = result["cases"]
    names = sorted({r["row"].split(" (")[0] for c in cases for r in c["rows"]})
    figure, axis = plt.subplots(figsize=(max(8, 1.1 * len(cases)), 4.5))
    width = 0.8 / len(names)
    for index, name in enumerate(names):
        values = [next((r["speedup_vs_eager_fp32"] for r in c["rows"] if r["row"].split(" (")[0] == name), 0)
                  for c in cases]
        axis.bar(np.arange(len(cases)) + index * width, values, width, label=name)
    axis.set_xticks(np.arange(len(cases)) + 0.4, [f"{c['model']}\n{'x'.join(map(str, c['shape']))}"
                                                   for c in cases], fontsize=7)
    axis.axhline(1.0, color="black", linewidth=0.8)
    axis.set_ylabel("speedup vs eager PyTorch FP32 (median per round)")
    axis.set_title(f"CPU peers on {result['environment']['cpu']}")
    axis.legend(fontsize=7, ncol=2)
    return figures.save_figure(figure, path)


def run(out: Path, models: list[str], seconds: float, compile_model: bool, tune_seconds: float) -> dict:
    from visionrt.runtime import tuning

    for model in models:
        tuning.tune(model, tune_seconds)
    peaks = matmul_peaks()
    cases = []
    for model in models:
        for size, extent in SHAPES[model]:
            print(f"{model} batch {size}{f' at {extent}' if extent else ''} ...", flush=True)
            cases.append(measure_case(model, size, extent, seconds, compile_model, peaks))
    try:
        import openvino

        ov_version = openvino.get_version()
    except ImportError:
        ov_version = None
    result = {"environment": environment.fingerprint(), "openvino": ov_version, "peaks_gflops": peaks,
              "seconds_per_case": seconds, "cases": cases}
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / "cpu_peers.json", json.dumps(result, indent=1))
    atomic.write_text(out / "cpu_peers.md", markdown(result))
    plot(result, out / "cpu_peers.png")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--seconds", type=float, default=6.0, help="timing per model and shape (default 6)")
    parser.add_argument("--tune-seconds", type=float, default=2.0, help="visionrt tune per model first (default 2)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile (tens of seconds per model)")
    args = parser.parse_args(argv)
    result = run(args.out, args.models, args.seconds, args.compile, args.tune_seconds)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
