"""What a benchmark measures: a zoo model by name, or a model folder (a user's own export), with where its
eager PyTorch baseline comes from and the inputs it is timed on.

The zoo rebuilds eager PyTorch from the checkpoint beside the ONNX files and times real held-out inputs. A
user's folder has no registry entry: its eager baseline is the ``torch.export`` program saved at export
(``eager.pt2``), and it is timed on seeded noise at the profile's opt size. A folder without a program (an
ONNX file brought as is) has no eager rows: its FP32 ONNX file is the reference the other rows are checked on.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from visionrt import artifact, model_zoo
from visionrt.errors import UserInputError

FOLDER_BATCHES = (1, 8)
NOISE_SAMPLES = 16


@dataclass(frozen=True)
class Subject:
    name: str  # for reports and file names
    folder: Path
    input_name: str
    item_shape: tuple[int | None, ...]  # after the batch axis; None where dynamic
    batches: tuple[int, ...]  # the default batch sweep
    widths: tuple[int, ...]  # the default width sweep at batch 1
    side_range: tuple[int, int] | None  # square sizes it takes (fully convolutional), else None
    max_batch_size: int
    load_inputs: Callable[[], np.ndarray]
    build_eager: Callable[[], object] | None  # the eager torch module on the same weights; None: there is none
    eager_source: str  # where eager PyTorch comes from, or why there is no eager row

    def inputs(self) -> np.ndarray:
        return self.load_inputs()


def subject_of(model: str, repository: Path) -> Subject:
    from visionrt.runtime import source

    if not source.written_as_path(model):
        return from_zoo(model, Path(repository))
    folder = Path(model).expanduser()
    if folder.resolve().parent == Path(repository).resolve() and folder.name in model_zoo.names():
        return from_zoo(folder.name, Path(repository))  # a zoo folder written as a path: its checkpoint is there
    return from_folder(folder)


def from_zoo(name: str, repository: Path) -> Subject:
    from visionrt.train import checkpoint

    from visionrt.export.int8 import held_out_sets

    spec = model_zoo.get(name)
    weights = repository / name / artifact.WEIGHTS_FILE

    def inputs() -> np.ndarray:
        return next(iter(held_out_sets(spec, checkpoint.load(weights)).values()))

    sides = square_sides(spec.dynamic_ranges) if {2, 3} <= set(spec.dynamic_axes) else None
    return Subject(name, repository / name, spec.input_name, tuple(spec.input_shape), spec.bench_batches, spec.bench_widths, sides,
                   spec.max_batch_size, inputs, lambda: checkpoint.build_model(checkpoint.load(weights)),
                   f"eager PyTorch rebuilt from {artifact.WEIGHTS_FILE} by the registry's architecture, on real "
                   "held-out inputs")


def from_folder(folder: Path) -> Subject:
    from visionrt.runtime import source
    from visionrt.runtime.profiles import profile_from_metadata

    files = source.resolve(folder).files
    if "file" in files or "fp32" not in files:
        raise UserInputError(f"{folder}: bench takes a zoo name or a model folder with an FP32 model.onnx")
    meta = artifact.read(files["fp32"]).metadata
    if meta is None:
        raise UserInputError(f"{files['fp32']} carries no visionrt metadata; export it with `visionrt export --onnx`")
    opt = profile_from_metadata(meta).opt[1:]
    ranges = meta.dynamic_ranges

    def inputs() -> np.ndarray:
        return np.random.default_rng(0).standard_normal((NOISE_SAMPLES, *opt)).astype(np.float32)

    sides = square_sides(ranges) if {2, 3} <= set(ranges) else None
    program = folder / artifact.EAGER_FILE
    noise = "on seeded noise at the profile's opt size"
    build, described = (lambda: eager_program(program)), \
        f"eager PyTorch is the torch.export program {program.name} saved at export, {noise}"
    if not program.is_file():
        build, described = None, (f"no eager PyTorch: {folder} holds no {artifact.EAGER_FILE} (an ONNX file brought "
                                  f"as is), so errors are against its FP32 ONNX file, {noise}")
    batches = tuple(b for b in FOLDER_BATCHES if b <= meta.max_batch_size)
    return Subject(folder.name, folder, meta.input.name, meta.input.shape, batches, (), sides, meta.max_batch_size, inputs, build,
                   described)


def square_sides(ranges: dict) -> tuple[int, int]:
    """The square sides both the height (axis 2) and the width (axis 3) ranges take."""
    return max(ranges[2][0], ranges[3][0]), min(ranges[2][2], ranges[3][2])


def eager_program(path: Path):
    """The saved program as a callable module: the same ATen ops eager PyTorch runs, on the same weights."""
    import torch

    return torch.export.load(str(path)).module()
