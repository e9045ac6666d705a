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


def resolve(source: str | os.PathLike) -> Source:
    path = Path(source)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise ArtifactError(f"ONNX file not found: {path}")
        return Source(str(path), {"file": path})
    if path.is_dir():
        return _from_folder(path, str(path))
    if isinstance(source, str) and os.sep not in source and "/" not in source:
        return _from_zoo(source)
    raise ArtifactError(f"model source not found: {path} (expected a zoo name, a model folder or an .onnx file)")


def _from_zoo(name: str) -> Source:
    from visionrt import model_zoo

    folder = model_zoo.model_dir(name)
    if not folder.is_dir():
        known = sorted(p.name for p in model_zoo.repository_path().iterdir() if model_zoo.installed(p.name)) \
            if model_zoo.repository_path().is_dir() else []
        raise UserInputError(f"unknown zoo model '{name}'; the zoo at {model_zoo.repository_path()} has: "
                             f"{', '.join(known) or 'nothing'}")
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
