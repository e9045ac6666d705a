"""``visionrt compare``: an installed model's FP16 (or INT8) file against its FP32 file, tensor by tensor, with a
report.

The comparison itself is ``tensor_compare``; this module picks the files and the inputs and writes the table,
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
from visionrt.export import fp16, int8, tensor_compare
from visionrt.extras import require

BATCH = 2


def load_pair(source: str | Path, precision: str = "fp16"):
    """(FP32 proto, the ``precision`` file's proto, its metadata) of a zoo name or model folder."""
    from visionrt.runtime import source as sources

    onnx = require("onnx", "train")
    files = sources.resolve(source).files
    if "file" in files:
        raise UserInputError(f"{source}: compare takes a zoo name or a model folder, whose version folder holds "
                             "both model.onnx and model_fp16.onnx; not a single .onnx file")
    missing = [artifact.FILES[each] for each in ("fp32", precision) if each not in files]
    if missing:
        made_by = " (`visionrt export MODEL --int8` makes it)" if precision == "int8" else ""
        raise ArtifactError(f"{source}: no {' or '.join(missing)} to compare it with{made_by}")
    meta = artifact.read(files[precision]).metadata
    if meta is None:
        raise ArtifactError(f"{source}: the {precision.upper()} file carries no visionrt metadata; re-export it")
    return onnx.load(str(files["fp32"])), onnx.load(str(files[precision])), meta


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


def held_out(source, meta: ArtifactMetadata, count: int = 8) -> tuple[np.ndarray, str]:
    """Real held-out inputs of a zoo model: an INT8 file is calibrated on real data, and noise far outside its
    activation ranges says nothing about it (standard-normal noise put the style network's first convolution
    at -2 dB SNR, where real photos give 50)."""
    from visionrt import model_zoo
    from visionrt.runtime import source as sources

    if sources.written_as_path(source) or meta.model not in model_zoo.names():
        raise UserInputError(f"{source}: an INT8 file is calibrated on real data, so compare it on real inputs: pass "
                             "--inputs a .npy batch of them (or --shape to compare on noise anyway)")
    from visionrt.train import checkpoint

    payload = checkpoint.load(model_zoo.model_dir(meta.model) / artifact.WEIGHTS_FILE)
    first = next(iter(int8.held_out_sets(model_zoo.get(meta.model), payload).values()))
    return np.ascontiguousarray(first[:count]), f"the first {min(count, len(first))} held-out inputs of the test split"


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
            device: str = "cpu", keep_fp32: tuple[str, ...] = (),
            precision: str = "fp16") -> tuple[list[tensor_compare.TensorError], str, ArtifactMetadata]:
    """(rows in graph order, how the inputs were made, the compared file's metadata) for an installed model.

    ``keep_fp32``: instead of the installed FP16 file, convert the FP32 file here as the exporter would with
    these nodes or op types kept too (nothing is written), to see what a pin would change before exporting.
    ``precision`` "int8": the INT8 file instead, whose float nodes are those the quantizer leaves float."""
    if precision not in ("fp16", "int8") or (keep_fp32 and precision != "fp16"):
        raise UserInputError(f"compare takes precision fp16 or int8 (--keep-fp32 with fp16 only), got {precision}")
    fp32, half, meta = load_pair(source, precision)
    kept = list(meta.fp32_nodes) if precision == "fp16" else int8.kept_float(fp32)
    if keep_fp32:
        conversion = fp16.convert_to_fp16(tensor_compare.copy_model(fp32), tuple(keep_fp32))
        half, kept = conversion.model, conversion.kept
    if precision == "int8" and shape is None and inputs_path is None:
        batch, described = held_out(source, meta)
    else:
        batch, described = inputs(meta, shape, inputs_path, seed)
    rows = tensor_compare.compare_tensors(fp32, half, {meta.input.name: batch}, kept, device)
    if keep_fp32:
        described += f"; FP16 converted here with --keep-fp32 {' '.join(keep_fp32)}"
    return rows, described, meta



def write_report(rows, out: Path, model: str, described: str, device: str, min_snr_db: float,
                 precision: str = "fp16") -> list[Path]:
    """compare_<model>.{json,md,png} in ``out`` (compare_<model>_int8.* for the INT8 file)."""
    out.mkdir(parents=True, exist_ok=True)
    label = precision.upper()
    header = (f"# {model}: {label} against FP32, tensor by tensor\n\n"
              f"Inputs: {described}; ONNX Runtime on {device}; bar {min_snr_db:g} dB.\n")
    body = (f"{header}\n{tensor_compare.summary(rows, min_snr_db, label=label)}\n\n"
            f"{tensor_compare.table(rows, min_snr_db, label=label)}\n")
    records = [{**asdict(row), "snr_db": row.snr_db if math.isfinite(row.snr_db) else str(row.snr_db)} for row in rows]
    document = {"model": model, "precision": precision, "inputs": described, "device": device,
                "min_snr_db": min_snr_db, "tensors": records}
    stem = out / (f"compare_{model}" + ("" if precision == "fp16" else f"_{precision}"))
    written = [atomic.write_text(stem.with_suffix(".md"), body),
               atomic.write_text(stem.with_suffix(".json"), json.dumps(document, indent=1)),
               plot(rows, stem.with_suffix(".png"), f"{model}: {label} vs FP32 along the graph ({described})",
                    min_snr_db, label)]
    return [Path(path) for path in written]


def plot(rows, path: Path, title: str, min_snr_db: float, label: str = "FP16") -> Path:
    """SNR per tensor in graph order; FP32-kept nodes in another colour, inf/NaN drawn at the floor in red."""
    plt = figures.pyplot()
    finite = [row.snr_db for row in rows if math.isfinite(row.snr_db)]
    top = max(finite, default=min_snr_db) + 10
    floor = min(min(finite, default=min_snr_db), min_snr_db) - 10
    figure, axis = plt.subplots(figsize=(max(6.0, len(rows) * 0.12), 4))
    for kept, colour, legend in ((False, "tab:blue", f"computed in {label}"), (True, "tab:orange", "kept float")):
        points = [(i, row.snr_db if math.isfinite(row.snr_db) else top) for i, row in enumerate(rows)
                  if row.kept_fp32 == kept and row.snr_db != -math.inf]
        if points:
            axis.scatter(*zip(*points), s=14, color=colour, label=legend)
    broken = [i for i, row in enumerate(rows) if row.snr_db == -math.inf]
    if broken:
        axis.scatter(broken, [floor] * len(broken), marker="x", color="tab:red", label=f"inf/NaN in {label}")
    axis.axhline(min_snr_db, color="gray", linestyle="--", linewidth=1, label=f"bar {min_snr_db:g} dB")
    axis.set(xlabel="tensor, in graph order", ylabel="SNR against FP32 (dB)", title=title, ylim=(floor - 5, top + 5))
    axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figures.save_figure(figure, path)
