"""``visionrt bench``: time eager PyTorch against every available runtime backend and precision.

All rows come from one run on one machine, so ratios between them are meaningful; absolute figures are
for that machine only (the environment fingerprint says which).
"""

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from visionrt import model_zoo
from visionrt.benchmarks import candidates as cands
from visionrt.benchmarks import environment, report, timing
from visionrt.benchmarks.subject import Subject, subject_of
from visionrt.errors import UserInputError, VisionRTError
from visionrt.export import parity_gates
from visionrt.extras import require

# Bars (benchmark figures, never timed tests), each with where it comes from, which the report prints beside it.
MIN_SPEEDUP_BATCH1 = 3.0
MAX_OVERHEAD_PCT = 10.0
MIN_TENSORRT_SPEEDUP = 4.0
BAR_SOURCES = {
    "speedup_vs_eager_cpu_batch1": "visionrt on ONNX Runtime's CPU provider against eager PyTorch FP32, batch 1: "
                                   "the zoo's CPU promise, set for the digits classifier",
    "overhead_vs_bare_onnxruntime_batch1_pct": "visionrt's own Python around a bare ONNX Runtime session, batch 1",
    "tensorrt_fp16_vs_eager_fp32_cuda_batch1": "TensorRT FP16 against eager PyTorch FP32 on CUDA, batch 1: set for "
                                               "style and colorizer",
}
OVERHEAD_BLOCKS = 5


@dataclass
class BenchConfig:
    model: str = "digits"
    batches: tuple[int, ...] | None = None  # None: the model's registry default (1, 8, 64 for digits)
    warmup: int = 50
    iters: int = 500
    device: str = "auto"  # "cpu", "cuda" (CUDA rows only), or "auto" (CPU, and CUDA too where torch sees a GPU)
    out: Path = Path("bench-out")
    compile: bool = False  # also time torch.compile (slow to warm up)
    widths: tuple[int, ...] | None = None  # width sweep at batch 1 (dynamic-width models); None: the spec's
    sizes: tuple[int, ...] = ()  # square-size sweep at batch 1 (fully convolutional image models), e.g. (256, 512)
    concurrency: tuple[int, ...] = ()  # threads calling one loaded model at batch 1, e.g. (1, 2, 4, 8); () skips it
    progress: bool = True
    repository: Path = field(default_factory=model_zoo.repository_path)


def devices_for(config: BenchConfig, torch) -> list[str]:
    """Where rows run. ``cuda`` leaves the CPU rows out: on a GPU machine they cost most of the time and
    measure a host that is not the one users deploy on (the CPU reports are taken on their own)."""
    has_cuda = torch.cuda.is_available()
    if config.device == "cuda" and not has_cuda:
        raise UserInputError("--device cuda was requested but torch sees no CUDA GPU here")
    if config.device not in ("auto", "cpu", "cuda"):
        raise UserInputError(f"--device must be auto, cpu or cuda, got '{config.device}'")
    if config.device == "cuda":
        return ["cuda"]
    return ["cpu"] + (["cuda"] if has_cuda and config.device != "cpu" else [])


def subject_for(config: BenchConfig) -> Subject:
    """The zoo model ``config.model`` names, or the model folder it is written as a path to."""
    return subject_of(config.model, Path(config.repository))


def batch_of(real: np.ndarray, size: int, width: int | None = None, side: int | None = None) -> np.ndarray:
    """``size`` real inputs (repeated if needed); with ``width``, cropped or padded on the right to it;
    with ``side``, resized to side x side (nearest neighbour: the real pictures, just larger)."""
    reps = -(-size // len(real))
    batch = np.concatenate([real] * reps)[:size]
    if side is not None:
        rows = np.arange(side) * batch.shape[-2] // side
        columns = np.arange(side) * batch.shape[-1] // side
        batch = batch[..., rows, :][..., columns]
    elif width is not None:
        have = batch.shape[-1]
        if have >= width:
            batch = batch[..., :width]
        else:  # pad with each row's own rightmost column: the background it was already padded with
            batch = np.concatenate([batch, np.repeat(batch[..., -1:], width - have, axis=-1)], axis=-1)
    return np.ascontiguousarray(batch)


def shapes_for(config: BenchConfig) -> list[tuple[int, int | None, int | None]]:
    """(batch, width, side) triples: the batch sweep at the data's own size, then the width sweep and the
    square-size sweep at batch 1."""
    widths = subject_for(config).widths if config.widths is None else config.widths
    return ([(batch, None, None) for batch in batches_for(config)] + [(1, width, None) for width in widths]
            + [(1, None, side) for side in config.sizes])


def sweep_of(shape: tuple[int, int | None, int | None]) -> str:
    return "size" if shape[2] else "width" if shape[1] else "batch"


def check_sizes(config: BenchConfig) -> None:
    """A square-size sweep needs free height and width axes, and sizes inside the range the model exports."""
    if not config.sizes:
        return
    subject = subject_for(config)
    if subject.side_range is None:
        raise UserInputError(f"--sizes needs a model whose height and width are free; {subject.name} takes "
                             f"{subject.item_shape} (fully convolutional zoo models: {', '.join(sized_models())})")
    low, high = subject.side_range
    outside = [side for side in config.sizes if not low <= side <= high]
    if outside:
        raise UserInputError(f"--sizes {outside} outside {config.model}'s exported range [{low}, {high}]")


def sized_models() -> list[str]:
    """The zoo's fully convolutional models (free height and width)."""
    return [name for name in model_zoo.names() if {2, 3} <= set(model_zoo.get(name).dynamic_axes)]


def batches_for(config: BenchConfig) -> tuple[int, ...]:
    return subject_for(config).batches if config.batches is None else tuple(config.batches)


def run(config: BenchConfig) -> dict:
    torch = require("torch", "train")
    tqdm = require("tqdm", "train").tqdm
    if not batches_for(config) or min(batches_for(config)) < 1 or config.iters < 1 or config.warmup < 0:
        raise UserInputError(f"batches must be positive and iters >= 1, got {config.batches}, {config.iters}")
    if config.concurrency and min(config.concurrency) < 1:
        raise UserInputError(f"--concurrency takes thread counts of at least 1, got {list(config.concurrency)}")
    check_sizes(config)
    devices = devices_for(config, torch)
    subject = subject_for(config)
    real, model_dir = subject.inputs(), subject.folder
    from visionrt.runtime import source

    too_large = [b for b in batches_for(config) if b > subject.max_batch_size]
    if too_large:
        raise UserInputError(f"batches {too_large} above {subject.name}'s max batch size {subject.max_batch_size}")
    fp32_file = source.resolve(model_dir).files["fp32"]
    bare = [cands.bare_session_candidate(fp32_file, subject.input_name)]
    rows_to_time = (cands.eager_candidates(subject.build_eager, devices, config.compile)
                    + cands.runtime_candidates(model_dir, devices, single_thread=bool(config.concurrency))
                    + (bare if "cpu" in devices else []))
    shapes = shapes_for(config)
    inputs = {shape: batch_of(real, *shape) for shape in shapes}
    references = reference_outputs(subject.build_eager, fp32_file, subject.input_name, inputs)
    rows, cold, concurrent = [], [], []
    bar = tqdm(total=len(rows_to_time) * len(shapes), desc=f"bench {subject.name}", unit="row",
               disable=not config.progress)
    for candidate in rows_to_time:
        prepared = candidate.prepare() if candidate.prepare else None
        started = time.perf_counter()
        try:
            bind = candidate.load()
        except VisionRTError as exc:  # e.g. OpenVINO cannot compile the reader's INT8 LSTM graph: said, not fatal
            cold.append({**_identity(candidate), "refused": str(exc)[:500]})
            bar.update(len(shapes))
            continue
        call, fetch = bind(batch_of(real, 1))
        fetch()
        if candidate.device == "cuda":
            torch.cuda.synchronize()
        cold.append({**_identity(candidate), "load_and_first_call_ms": (time.perf_counter() - started) * 1e3,
                     "prepared": prepared})
        for shape in shapes:
            bar.set_postfix_str(f"{candidate.label} batch {shape[0]} {'x'.join(map(str, inputs[shape].shape[2:]))}")
            rows.append(time_row(candidate, bind, inputs[shape], references[shape], config, torch))
            rows[-1]["sweep"] = sweep_of(shape)
            bar.update()
        if config.concurrency and candidate.timing == "host" and not candidate.precision.endswith("-compiled"):
            # torch.compile'd modules are left out: calling one from several threads is not documented safe
            bar.set_postfix_str(f"{candidate.label} threads {list(config.concurrency)}")
            concurrent += concurrency_rows(candidate, bind, batch_of(real, 1), config)
    bar.close()
    add_speedups(rows)
    if "cpu" in devices and config.progress:
        print(f"overhead over a bare session: {OVERHEAD_BLOCKS} blocks of {config.iters} paired calls per batch "
              f"{list(batches_for(config))}", flush=True)
    overhead = paired_overhead(model_dir, real, config) if "cpu" in devices else {}
    copies = copy_breakdown(subject.build_eager, inputs, config, torch) if "cuda" in devices and subject.build_eager else []
    result = {"model": subject.name, "eager_source": subject.eager_source, "config": _config_dict(config),
              "environment": environment.fingerprint(),
              "rows": rows, "cold_start": cold, "overhead": overhead, "copies": copies, "concurrency": concurrent,
              "bars": bars(rows, overhead)}
    report.write_all(result, Path(config.out))
    return result


def concurrency_rows(candidate, bind, batch: np.ndarray, config: BenchConfig) -> list[dict]:
    """Batch-1 calls from 1..N threads at once on one loaded model, as a service embedding it sees them:
    latency percentiles over every call and throughput over the wall time, with the scaling over the
    fewest threads swept. The timed calls are split between the threads (``iters`` in all)."""
    call, _ = bind(batch)
    rows = []
    for threads in sorted(set(config.concurrency)):
        samples, wall_ns = timing.time_concurrent(call, threads, max(1, config.warmup // threads),
                                                  max(1, config.iters // threads))
        stats = timing.summarize(samples, len(batch))
        rows.append({**_identity(candidate), "batch": len(batch), "threads": threads,
                     **{k: stats[k] for k in ("mean_ms", "p50_ms", "p90_ms", "p99_ms")},
                     "throughput_ips": len(batch) * len(samples) * 1e9 / wall_ns, "samples_ns": samples.tolist()})
    for row in rows:
        row["scaling_vs_fewest_threads"] = row["throughput_ips"] / rows[0]["throughput_ips"]
    return rows


def copy_breakdown(build, inputs: dict, config: BenchConfig, torch) -> list[dict]:
    """Eager FP32 on CUDA split into host-to-device copy, compute and device-to-host copy (CUDA events, p50)."""
    model = build().cuda()
    found = []
    for array in inputs.values():
        host = torch.from_numpy(array)
        device = host.cuda()
        with torch.inference_mode():
            output = model(device)
            parts = {"h2d": lambda: host.cuda(), "compute": lambda: model(device), "d2h": lambda: to_host(output)}
            medians = {name: float(np.median(timing.time_cuda(call, config.warmup, config.iters, torch))) / 1e6
                       for name, call in parts.items()}
        found.append({"batch": len(array), "width": array.shape[-1], **{f"{k}_p50_ms": v for k, v in medians.items()},
                      "copy_share": (medians["h2d"] + medians["d2h"]) / sum(medians.values())})
    return found


def to_host(output):
    """Every output tensor copied to the host (the VAE encoder returns two)."""
    return [o.cpu() for o in output] if isinstance(output, (list, tuple)) else output.cpu()


def reference_outputs(build, fp32_file: Path, input_name: str, inputs: dict) -> dict:
    """The reference every row's max abs error is measured against: eager PyTorch FP32 on the CPU, or, where
    there is no source module, the FP32 ONNX file on a bare ONNX Runtime session."""
    import torch

    if build is None:
        bind = cands.bare_session_candidate(fp32_file, input_name).load()
        return {shape: bind(batch)[1]() for shape, batch in inputs.items()}
    model = build()
    with torch.inference_mode():
        return {shape: cands.merge_outputs(model(torch.from_numpy(batch))) for shape, batch in inputs.items()}


def time_row(candidate, bind, batch: np.ndarray, reference: np.ndarray, config: BenchConfig, torch) -> dict:
    call, fetch = bind(batch)
    if candidate.timing == "cuda-events":
        samples = timing.time_cuda(call, config.warmup, config.iters, torch)
    else:
        samples = timing.time_host(call, config.warmup, config.iters)
    parity = parity_gates.compare(reference, fetch())
    return {**_identity(candidate), "batch": len(batch), "width": batch.shape[-1],
            "height": batch.shape[-2] if batch.ndim == 4 else None, **timing.summarize(samples, len(batch)),
            "max_abs_error_vs_eager_fp32": parity["max_abs_error"],
            "top1_agreement_vs_eager_fp32": parity.get("top1_agreement"),
            "psnr_db_vs_eager_fp32": parity.get("psnr_db"), "samples_ns": samples.tolist()}


def _identity(candidate) -> dict:
    return {"name": candidate.name, "backend": candidate.backend, "device": candidate.device,
            "precision": candidate.precision, "timing": candidate.timing}


def add_speedups(rows: list[dict]) -> None:
    """Speedup = p50 of eager PyTorch FP32 on the same device, input shape and timing mode / this row's p50.
    Device-resident runtime rows compare with eager's device-resident (CUDA-event) row."""
    def key(row):
        timing = "cuda-events" if row["timing"] == "device-resident" else row["timing"]
        return row["device"], row["batch"], row["width"], row.get("height"), timing

    baseline = {key(r): r["p50_ms"] for r in rows if r["name"] == "pytorch-eager" and r["precision"] == "fp32"}
    for row in rows:
        base = baseline.get(key(row))
        row["speedup_vs_eager_fp32"] = base / row["p50_ms"] if base else None


def paired_overhead(model_dir: Path, real: np.ndarray, config: BenchConfig) -> dict:
    """The runtime's overhead over a bare onnxruntime session (CPU, FP32), per batch, timed interleaved.

    Both calls go through the very same InferenceSession, so the difference is visionrt's own Python
    (input validation and dispatch) and nothing else. Each batch is timed in several blocks; the block with
    the median ratio is reported, with every block's figure beside it to show the spread.
    """
    from visionrt import runtime

    model = runtime.load(model_dir, backend="onnxruntime:cpu", precision="fp32")
    session, name = model.backend.session, model.inputs[0].name
    by_batch = []
    for size in batches_for(config):
        batch = batch_of(real, size)
        iters = config.iters  # what the user set bounds this phase too
        blocks = []
        for _ in range(OVERHEAD_BLOCKS):
            ours, bare = timing.time_paired(lambda: model.run(batch), lambda: session.run(None, {name: batch}),
                                            config.warmup, iters)
            blocks.append((float(np.median(ours)) / 1e6, float(np.median(bare)) / 1e6))
        ratios = [ours / bare for ours, bare in blocks]
        middle = blocks[int(np.argsort(ratios)[len(ratios) // 2])]
        by_batch.append({"batch": size, "runtime_p50_ms": middle[0], "bare_p50_ms": middle[1],
                         "overhead_pct": (middle[0] / middle[1] - 1.0) * 100.0,
                         "block_overheads_pct": [round((r - 1.0) * 100.0, 2) for r in ratios]})
    return {"by_batch": by_batch, "iters_per_block": {b["batch"]: config.iters for b in by_batch},
            "method": f"model.run() and session.run() on the same session, alternated in one loop, "
                      f"{OVERHEAD_BLOCKS} blocks per batch; the block with the median ratio of medians"}


def bars(rows: list[dict], overhead: dict | None) -> dict:
    """The issues' bars at batch 1, from p50 latencies of this run: the digits issue's two CPU bars, and the GPU
    issue's TensorRT FP16 against eager FP32 (set for style and colorizer; host timing on both sides)."""
    return {**cpu_bars(rows, overhead), **tensorrt_bar(rows)}


def _batch1(rows: list[dict], device: str, **fields) -> list[dict]:
    return [r for r in rows if r["device"] == device and r["batch"] == 1 and r.get("sweep", "batch") == "batch"
            and r["timing"] == "host" and all(r[k] == v for k, v in fields.items())]


def cpu_bars(rows: list[dict], overhead: dict | None) -> dict:
    eager = next(iter(_batch1(rows, "cpu", name="pytorch-eager", precision="fp32")), None)
    runtime_row = next(iter(_batch1(rows, "cpu", name="visionrt", backend="onnxruntime:cpu", precision="fp32")), None)
    at_batch1 = next((o for o in (overhead or {}).get("by_batch", []) if o["batch"] == 1), None)
    if not (eager and runtime_row and at_batch1):
        return {}
    speedup = eager["p50_ms"] / runtime_row["p50_ms"]
    overhead = at_batch1["overhead_pct"]
    return {
        "speedup_vs_eager_cpu_batch1": {"value": speedup, "bar": f">= {MIN_SPEEDUP_BATCH1}x",
                                        "met": speedup >= MIN_SPEEDUP_BATCH1},
        "overhead_vs_bare_onnxruntime_batch1_pct": {"value": overhead, "bar": f"<= {MAX_OVERHEAD_PCT}%",
                                                    "met": overhead <= MAX_OVERHEAD_PCT},
    }


def tensorrt_bar(rows: list[dict]) -> dict:
    """The faster of the TensorRT FP16 rows (with and without a CUDA graph) against eager FP32 on CUDA."""
    eager = next(iter(_batch1(rows, "cuda", name="pytorch-eager", precision="fp32")), None)
    engines = _batch1(rows, "cuda", backend="tensorrt:cuda", precision="fp16")
    if not (eager and engines):
        return {}
    best = min(engines, key=lambda r: r["p50_ms"])
    speedup = eager["p50_ms"] / best["p50_ms"]
    return {"tensorrt_fp16_vs_eager_fp32_cuda_batch1": {"value": speedup, "bar": f">= {MIN_TENSORRT_SPEEDUP}x",
                                                        "met": speedup >= MIN_TENSORRT_SPEEDUP, "row": best["name"]}}


def _config_dict(config: BenchConfig) -> dict:
    """The run's settings as swept: registry defaults resolved, so the report names the batches it timed."""
    found = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    return {**found, "batches": list(batches_for(config))}
