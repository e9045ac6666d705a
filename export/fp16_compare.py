"""``visionrt compare``: an installed model's FP16 file against its FP32 file, tensor by tensor, with a report.

The comparison itself is ``fp16_layers``; this module picks the files and the inputs and writes the table,
the JSON and a plot of SNR along the graph.
"""

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from visionrt import atomic, figures
from visionrt.errors import ArtifactError, UserInputError
from visionrt import artifact
from visionrt.artifact import ArtifactMetadata
from visionrt.export import fp16, fp16_layers
from visionrt.extras import require

BATCH = 2


def load_pair(source: str | Path):
    """(FP32 proto, FP16 proto, the FP16 file's metadata) of a zoo name or model folder."""
    from visionrt.runtime import source as sources

    onnx = require("onnx", "train")
    files = sources.resolve(source).files
    if "file" in files:
        raise UserInputError(f"{source}: compare takes a zoo name or a model folder, whose version folder holds "
                             "both model.onnx and model_fp16.onnx; not a single .onnx file")
    missing = [artifact.FILES[precision] for precision in ("fp32", "fp16") if precision not in files]
    if missing:
        raise ArtifactError(f"{source}: no {' or '.join(missing)} to compare it with")
    meta = artifact.read(files["fp16"]).metadata
    if meta is None:
        raise ArtifactError(f"{source}: the FP16 file carries no visionrt metadata; re-export it")
    return onnx.load(str(files["fp32"])), onnx.load(str(files["fp16"])), meta


def default_shape(meta: ArtifactMetadata) -> tuple[int, ...]:
    """Batch 2 at the shape TensorRT would tune for (the profile's opt size for dynamic axes)."""
    from visionrt.runtime.profiles import profile_from_metadata

    return (BATCH, *profile_from_metadata(meta).opt[1:])


def inputs(meta: ArtifactMetadata, shape: tuple[int, ...] | None, path: Path | None, seed: int) -> tuple[np.ndarray, str]:
    """The input batch and how it was made: a .npy file, or seeded standard-normal noise (the FP16 gate's
    random set)."""
    if path is not None:
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UserInputError(f"cannot read --inputs {path}: {exc}") from exc
        return checked(meta, array, f"--inputs {path}"), f"{path} {array.shape}"
    shape = tuple(shape) if shape else default_shape(meta)
    if any(size < 1 for size in shape):
        raise UserInputError(f"--shape {' '.join(map(str, shape))}: every size must be at least 1")
    array = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return checked(meta, array, "--shape"), f"standard normal noise {shape}, seed {seed}"


def checked(meta: ArtifactMetadata, array: np.ndarray, origin: str) -> np.ndarray:
    """The batch, if the model takes it: the runtime's own input check against the metadata's input."""
    from visionrt.runtime.backends import TensorSpec
    from visionrt.runtime.model import check_input

    spec = TensorSpec(meta.input.name, (None, *meta.input.shape), meta.input.dtype)
    try:
        return check_input(spec, array)
    except UserInputError as exc:
        raise UserInputError(f"{origin}: {exc}") from exc


def compare(source: str | Path, shape=None, inputs_path: Path | None = None, seed: int = 0,
            device: str = "cpu", keep_fp32: tuple[str, ...] = ()) -> tuple[list[fp16_layers.TensorError], str, ArtifactMetadata]:
    """(rows in graph order, how the inputs were made, FP16 metadata) for an installed model.

    ``keep_fp32``: instead of the installed FP16 file, convert the FP32 file here as the exporter would with
    these nodes or op types kept too (nothing is written), to see what a pin would change before exporting."""
    fp32, half, meta = load_pair(source)
    kept = list(meta.fp32_nodes)
    if keep_fp32:
        conversion = fp16.convert_to_fp16(fp16_layers.copy_model(fp32), tuple(keep_fp32))
        half, kept = conversion.model, conversion.kept
    batch, described = inputs(meta, shape, inputs_path, seed)
    rows = fp16_layers.compare_tensors(fp32, half, {meta.input.name: batch}, kept, device)
    if keep_fp32:
        described += f"; FP16 converted here with --keep-fp32 {' '.join(keep_fp32)}"
    return rows, described, meta



def write_report(rows, out: Path, model: str, described: str, device: str, min_snr_db: float) -> list[Path]:
    """compare_<model>.{json,md,png} in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    header = (f"# {model}: FP16 against FP32, tensor by tensor\n\n"
              f"Inputs: {described}; ONNX Runtime on {device}; bar {min_snr_db:g} dB.\n")
    body = f"{header}\n{fp16_layers.summary(rows, min_snr_db)}\n\n{fp16_layers.table(rows, min_snr_db)}\n"
    records = [{**asdict(row), "snr_db": row.snr_db if math.isfinite(row.snr_db) else str(row.snr_db)} for row in rows]
    document = {"model": model, "inputs": described, "device": device, "min_snr_db": min_snr_db, "tensors": records}
    stem = out / f"compare_{model}"
    written = [atomic.write_text(stem.with_suffix(".md"), body),
               atomic.write_text(stem.with_suffix(".json"), json.dumps(document, indent=1)),
               plot(rows, stem.with_suffix(".png"), f"{model}: FP16 vs FP32 along the graph ({described})", min_snr_db)]
    return [Path(path) for path in written]


def plot(rows, path: Path, title: str, min_snr_db: float) -> Path:
    """SNR per tensor in graph order; FP32-kept nodes in another colour, inf/NaN drawn at the floor in red."""
    plt = figures.pyplot()
    finite = [row.snr_db for row in rows if math.isfinite(row.snr_db)]
    top = max(finite, default=min_snr_db) + 10
    floor = min(min(finite, default=min_snr_db), min_snr_db) - 10
    figure, axis = plt.subplots(figsize=(max(6.0, len(rows) * 0.12), 4))
    for kept, colour, label in ((False, "tab:blue", "computed in FP16"), (True, "tab:orange", "kept in FP32")):
        points = [(i, row.snr_db if math.isfinite(row.snr_db) else top) for i, row in enumerate(rows)
                  if row.kept_fp32 == kept and row.snr_db != -math.inf]
        if points:
            axis.scatter(*zip(*points), s=14, color=colour, label=label)
    broken = [i for i, row in enumerate(rows) if row.snr_db == -math.inf]
    if broken:
        axis.scatter(broken, [floor] * len(broken), marker="x", color="tab:red", label="inf/NaN in FP16")
    axis.axhline(min_snr_db, color="gray", linestyle="--", linewidth=1, label=f"bar {min_snr_db:g} dB")
    axis.set(xlabel="tensor, in graph order", ylabel="SNR against FP32 (dB)", title=title, ylim=(floor - 5, top + 5))
    axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figures.save_figure(figure, path)
