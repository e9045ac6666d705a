"""Model definitions, their registry and the shipped, Triton-style model repository.

This package is importable without torch: the registry and repository paths are plain Python, and the
torch model definitions are imported only when a spec's architecture is resolved.

Lives in ``model_zoo/``, installed as ``visionrt.model_zoo`` (pyproject.toml maps each root folder into the one namespace).
"""

import os
from pathlib import Path

from visionrt.model_zoo.registry import ModelSpec, composite, get, names, register, resolve

__all__ = ["ModelSpec", "composite", "get", "names", "register", "resolve", "repository_path", "model_dir", "installed",
           "samples_dir"]


def repository_path() -> Path:
    """The model repository in use: ``$VISIONRT_ZOO`` if set, else the one shipped with the package."""
    override = os.environ.get("VISIONRT_ZOO")
    return Path(override) if override else Path(__file__).parent / "repository"


def model_dir(name: str) -> Path:
    return repository_path() / name


def installed(name: str) -> bool:
    """Whether the repository in use holds an exported entry for ``name``.

    The Triton config is the test because an entry without it is not one Triton or the runtime can serve.
    """
    return (model_dir(name) / "config.pbtxt").is_file()


def samples_dir(name: str) -> Path:
    return Path(__file__).parent / "samples" / name
