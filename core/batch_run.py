"""`visionrt run` over many files: each input judged on its own, good results kept, bad ones named, and no
output ever written over another.

Outputs go to ``<out>/<stem>_<suffix>.png``; when two inputs share a stem (``a/x.png`` and ``b/x.png``), every
output mirrors its input's path below the inputs' common folder instead, and where that is not enough
(``a/x.png`` and ``a/x.jpg``) the input's whole file name is kept (``x.jpg_denoised.png``).
An output that already exists is kept, and its input reported, unless ``overwrite``.
"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from visionrt import atomic
from visionrt.errors import UserInputError, VisionRTError


@dataclass
class Outcome:
    results: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {"input": path, "error": message}

    def fail(self, path: str, error: str) -> None:
        self.failed.append({"input": path, "error": error})


def writable_folder(folder: Path) -> Path:
    """``folder``, created if needed, once a file can be written in it; UserInputError naming why not."""
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"-o {folder} is a file; pass a folder for the outputs")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".visionrt-probe-"):
            pass
    except OSError as exc:
        raise UserInputError(f"-o {folder} is not writable: {exc.strerror or exc}") from exc
    return folder


def output_paths(files: list[str], folder: Path, suffix: str, extension: str = ".png") -> dict[str, Path]:
    """One distinct output path per input (see the module docstring)."""
    stems = [Path(f).stem for f in files]
    if len(set(stems)) == len(stems):
        return {f: folder / f"{stem}_{suffix}{extension}" for f, stem in zip(files, stems)}
    absolute = [Path(f).resolve() for f in files]
    common = Path(os.path.commonpath([str(p.parent) for p in absolute]))
    mirrored = {f: (p.parent.relative_to(common), p) for f, p in zip(files, absolute)}
    names = [(where, p.stem) for where, p in mirrored.values()]
    keep_suffix = len(set(names)) < len(names)  # x.png and x.jpg in one folder: the input's extension joins the name
    return {f: folder / where / f"{p.name if keep_suffix else p.stem}_{suffix}{extension}"
            for f, (where, p) in mirrored.items()}


def free_name(path: Path, overwrite: bool) -> Path:
    """``path``, or with overwrite off and ``path`` taken, the first free ``<stem>-<n><suffix>`` beside it."""
    if overwrite or not path.exists():
        return path
    n = 1
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate


def each(files: list[str], work, outcome: Outcome) -> list[tuple[str, object]]:
    """(file, result) for every file ``work`` accepts; the rest are recorded in ``outcome`` with the reason."""
    done = []
    for path in files:
        try:
            done.append((path, work(path)))
        except VisionRTError as exc:
            outcome.fail(path, str(exc))
    return done


def batched(files: list[str], work_many, outcome: Outcome) -> list[tuple[str, object]]:
    """``work_many`` on all files at once (batched inference); if any input is refused, file by file."""
    try:
        return list(zip(files, work_many(files)))
    except VisionRTError:
        return each(files, lambda path: work_many([path])[0], outcome)


def save_png(image, path: Path) -> None:
    image.save(path, format="PNG")


def save_npz(arrays: dict, path: Path) -> None:
    import numpy as np

    with open(path, "wb") as handle:  # a handle: np.savez would add .npz to the temporary file's name
        np.savez(handle, **arrays)


def write_images(done: list[tuple[str, object]], targets: dict[str, Path], overwrite: bool, outcome: Outcome,
                 save=save_png) -> None:
    """Each result saved to its target (a PNG unless ``save`` says otherwise), atomically, never over another."""
    for path, image in done:
        target = targets[path]
        if target.exists() and not overwrite:
            outcome.fail(path, f"{target} exists; pass --overwrite to replace it")
            continue
        try:
            with atomic.atomic_path(target) as tmp:
                save(image, tmp)
        except OSError as exc:
            outcome.fail(path, f"cannot write {target}: {exc.strerror or exc}")
            continue
        outcome.results.append({"input": path, "output": str(target)})
        print(f"{path} -> {target}")


def tensor_outputs(model, path: str) -> dict:
    """A tensor model's outputs, by name, for the batch saved in the .npy file ``path``."""
    import numpy as np

    if not path.endswith(".npy"):
        raise UserInputError(f"{path}: a model without a task takes .npy batches (np.save of a float32 array)")
    try:
        batch = np.load(path, allow_pickle=False, mmap_mode="r")  # the header first: nothing read yet
    except (OSError, ValueError) as exc:
        raise UserInputError(f"cannot read {path} as a .npy array: {exc}") from exc
    largest = largest_input(model)
    if largest is not None and batch.size > largest:
        raise UserInputError(f"{path} holds {batch.shape} ({batch.size:,} values), more than the largest input the "
                             f"artifact takes ({largest:,} values); split the batch")
    result = model.run(np.array(batch))
    return result if isinstance(result, dict) else {model.outputs[0].name: result}


def largest_input(model) -> int | None:
    """Values in the largest input the artifact's profile allows (max batch at every axis's max); None without
    metadata."""
    import math

    from visionrt.runtime.profiles import profile_from_metadata

    return math.prod(profile_from_metadata(model.metadata).max) if model.metadata is not None else None
