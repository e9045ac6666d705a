"""Resolve what the user asked to load (zoo name, model folder or .onnx file) to ONNX files by precision.

A model folder is a Triton-style entry: ``<folder>/config.pbtxt`` and ``<folder>/<version>/model.onnx``,
with the FP16 variant beside it as ``model_fp16.onnx``. The highest numbered version is used.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from visionrt.artifact import FILES
from visionrt.errors import ArtifactError, UserInputError


@dataclass(frozen=True)
class Source:
    description: str  # how the user named it, for messages
    files: dict[str, Path]  # precision -> ONNX file; only what exists

    def precisions(self) -> list[str]:
        return sorted(self.files)


def written_as_path(source: str | os.PathLike) -> bool:
    """The one precedence rule: a plain word (``digits``) is a zoo name, even where a folder of that name is
    in the working directory; anything written as a path (a separator, a leading ``.`` or ``~``, an
    ``.onnx`` ending, or a ``Path``) is a path."""
    if not isinstance(source, str):
        return True
    return "/" in source or os.sep in source or source.startswith((".", "~")) or source.endswith(".onnx")


def resolve(source: str | os.PathLike) -> Source:
    if not written_as_path(source):
        return _from_zoo(source)
    path = Path(source).expanduser()
    if path.suffix == ".onnx":
        if path.is_dir():
            raise ArtifactError(f"{path} is a folder, not an ONNX file")
        if not path.is_file():
            raise ArtifactError(f"ONNX file not found: {path}")
        return Source(str(path), {"file": path})
    if path.is_dir():
        return _from_folder(path, str(path))
    raise ArtifactError(f"model source not found: {path} (expected a zoo name, a model folder or an .onnx file)")


def loadable_names() -> list[str]:
    """Every name ``load`` takes: the installed zoo models and the composites whose parts are installed."""
    from visionrt import model_zoo
    from visionrt.model_zoo import registry

    found = [name for name in model_zoo.names() if model_zoo.installed(name)]
    return sorted(found + [name for name, parts in registry.COMPOSITES.items()
                           if all(part in found for part in parts)])


def _from_zoo(name: str) -> Source:
    import difflib

    from visionrt import model_zoo

    folder = model_zoo.model_dir(name)
    parts = model_zoo.composite(name)
    if parts and not model_zoo.installed(name):  # a joined model, which only load() joins
        raise UserInputError(f"'{name}' is {len(parts)} graphs ({', '.join(parts)}); name one of them here")
    if not model_zoo.installed(name):
        known = loadable_names()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise UserInputError(f"unknown zoo model '{name}'; {hint}the zoo at {model_zoo.repository_path()} has: "
                             f"{', '.join(known) or 'nothing'} (a folder or file is written as a path, e.g. ./{name})")
    return _from_folder(folder, f"zoo model '{name}'")


def _from_folder(folder: Path, description: str) -> Source:
    versions = sorted((int(p.name), p) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if not versions:
        raise ArtifactError(f"{folder} holds no version folder (expected {folder}/1/model.onnx)")
    version_dir = versions[-1][1]
    files = {precision: version_dir / name for precision, name in FILES.items() if (version_dir / name).is_file()}
    if not files:
        raise ArtifactError(f"{version_dir} holds neither {FILES['fp32']} nor {FILES['fp16']}")
    return Source(description, files)
