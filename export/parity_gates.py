"""Parity gates: an artifact is only installed when its outputs match the source within tolerance.

FP32 ONNX is compared with eager PyTorch; the FP16 variant with the FP32 ONNX. Each comparison runs on
real held-out inputs and on seeded random inputs, at batch 1 and at a larger batch.
"""

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from visionrt.errors import ValidationFailedError

Runner = Callable[[np.ndarray], list[np.ndarray]]  # one array per graph output, in graph order


@dataclass(frozen=True)
class Tolerance:
    abs: float  # allowed max abs error = abs + rel * max|reference|
    rel: float
    min_top1: float  # top-1 agreement required on real inputs (classifiers)
    min_psnr_db: float | None = None  # for image outputs: gate on PSNR instead of the max abs error


FP32_TOLERANCE = Tolerance(abs=1e-4, rel=1e-5, min_top1=1.0)
# FP16 images: 40 dB PSNR against FP32 (a max abs error of a few 1e-2 at single pixels is normal for FP16)
FP16_TOLERANCE = Tolerance(abs=1e-2, rel=1e-3, min_top1=0.999, min_psnr_db=40.0)
Tolerances = Tolerance | dict[str, Tolerance]  # one for every output, or one per output name


def tolerance_for(tolerance: Tolerances, key: str) -> Tolerance:
    """The tolerance of one report entry: ``key`` is "set" (a one-output graph) or "set:output"."""
    if isinstance(tolerance, Tolerance):
        return tolerance
    output = key.partition(":")[2]
    return tolerance[output] if output else next(iter(tolerance.values()))


def tolerance_record(tolerance: Tolerances) -> dict:
    if isinstance(tolerance, Tolerance):
        return asdict(tolerance)
    return {output: asdict(each) for output, each in tolerance.items()}


def compare(reference: np.ndarray, candidate: np.ndarray) -> dict:
    reference, candidate = reference.astype(np.float64), candidate.astype(np.float64)
    error = np.abs(reference - candidate)
    figures = {"max_abs_error": float(error.max()), "mean_abs_error": float(error.mean()),
               "reference_max_abs": float(np.abs(reference).max()), "samples": int(len(reference))}
    if reference.ndim in (2, 3):  # class scores, per image or per sequence step
        figures["top1_agreement"] = float((reference.argmax(-1) == candidate.argmax(-1)).mean())
    if reference.ndim == 4:  # images: PSNR over the reference's range (1 for outputs in [0, 1])
        peak = max(float(reference.max() - reference.min()), 1.0)
        mse = float(np.mean(error**2))
        figures["psnr_db"] = float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))
    return figures


def run_batched(runner: Runner, inputs: np.ndarray, batch: int) -> list[np.ndarray]:
    chunks = [runner(inputs[start : start + batch]) for start in range(0, len(inputs), batch)]
    return [np.concatenate(parts) for parts in zip(*chunks)]


def input_sets(real: np.ndarray | dict[str, np.ndarray], seed: int = 0,
               large_batch: int = 64) -> dict[str, tuple[np.ndarray, int]]:
    """Named (inputs, batch size) pairs: real held-out data and standard-normal noise, small and large batch.

    ``real`` is one array or several named ones (e.g. "real" and "unseen_width"); every name whose set
    starts with "real" or "unseen" counts as real data for the top-1 gate.
    """
    named = real if isinstance(real, dict) else {"real": real}
    first = next(iter(named.values()))
    noise = np.random.default_rng(seed).standard_normal((2 * large_batch, *first.shape[1:])).astype(np.float32)
    sets = {}
    for name, inputs in {**named, "random": noise}.items():
        sets[f"{name}_batch1"] = (inputs[:32] if name != "random" else inputs[:16], 1)
        sets[f"{name}_batch{large_batch}"] = (inputs, large_batch)
    return sets


def parity(reference: Runner, candidate: Runner, sets: dict[str, tuple[np.ndarray, int]],
           output_names: tuple[str, ...] = ()) -> dict:
    """Figures per input set, and per output ("set:output") where the graph has several outputs."""
    report = {}
    for name, (inputs, batch) in sets.items():
        expected, got = run_batched(reference, inputs, batch), run_batched(candidate, inputs, batch)
        for index, (ref, out) in enumerate(zip(expected, got)):
            key = name if len(expected) == 1 else f"{name}:{output_names[index] if output_names else index}"
            report[key] = compare(ref, out)
    return report


def failures(report: dict, tolerance: Tolerances, top1: bool = True) -> list[str]:
    """Every figure outside tolerance, as a readable sentence (empty when the artifact passes).

    ``top1``: gate on top-1 agreement (class scores); off for outputs whose argmax means nothing (latents)."""
    return [problem for name, figures in report.items() for problem in set_failures(name, figures, tolerance, top1)]


def failing_sets(report: dict, tolerance: Tolerances, top1: bool = True) -> list[str]:
    """Names of the input sets with a figure outside tolerance, in report order ("set:output" -> "set")."""
    names = [name.split(":")[0] for name, figures in report.items() if set_failures(name, figures, tolerance, top1)]
    return list(dict.fromkeys(names))


def set_failures(name: str, figures: dict, tolerance: Tolerances, top1: bool) -> list[str]:
    problems, tolerance = [], tolerance_for(tolerance, name)
    allowed = tolerance.abs + tolerance.rel * figures["reference_max_abs"]
    if tolerance.min_psnr_db is not None and "psnr_db" in figures:
        if not figures["psnr_db"] >= tolerance.min_psnr_db:
            problems.append(f"{name}: PSNR {figures['psnr_db']:.1f} dB < {tolerance.min_psnr_db} dB")
    elif not figures["max_abs_error"] <= allowed:
        problems.append(f"{name}: max abs error {figures['max_abs_error']:.3g} > allowed {allowed:.3g}")
    if top1 and name.startswith(("real", "unseen")) and figures.get("top1_agreement", 1.0) < tolerance.min_top1:
        problems.append(f"{name}: top-1 agreement {figures['top1_agreement']:.4f} < {tolerance.min_top1}")
    return problems


def gate(label: str, report: dict, tolerance: Tolerances, top1: bool = True) -> dict:
    """Raise ValidationFailedError listing every failure; return the report with its tolerance otherwise."""
    problems = failures(report, tolerance, top1)
    if problems:
        raise ValidationFailedError(
            f"{label} failed validation; the previous artifact was left in place:\n  " + "\n  ".join(problems)
        )
    return {"tolerance": tolerance_record(tolerance), "sets": report}
