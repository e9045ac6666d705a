"""The small interface every inference backend implements, and the registry that lists them.

A backend runs one ONNX artifact on one device: numpy in, numpy out. Input validation, task APIs and
backend choice live above it, so a new backend (the native TensorRT one, for instance) only implements
``targets``, construction, ``run`` and ``describe``.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from visionrt.artifact import Artifact


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | None, ...]  # None for a dynamic axis
    dtype: str  # numpy dtype name


@dataclass(frozen=True)
class Target:
    """One way to run models here: a backend on a device, with why it is or is not available."""

    backend: str
    device: str  # "cpu", "cuda", "tensorrt"
    available: bool
    reason: str
    speed_rank: int  # lower is faster; ``auto`` picks the lowest available

    @property
    def name(self) -> str:
        return f"{self.backend}:{self.device}"

    @property
    def on_gpu(self) -> bool:
        return self.device != "cpu"


class Backend(ABC):
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def targets(cls) -> list[Target]:
        """Every device this backend knows, available or not, each with a reason."""

    @abstractmethod
    def __init__(self, artifact: Artifact, target: Target, threads: int | None = None):
        """Load the artifact that ``load`` read and chose; raise BackendUnavailableError if the device cannot
        actually be used. A backend reads what it needs from ``artifact`` and never reopens the file for it."""

    @property
    @abstractmethod
    def inputs(self) -> list[TensorSpec]: ...

    @property
    @abstractmethod
    def outputs(self) -> list[TensorSpec]: ...

    @abstractmethod
    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run validated inputs; must be safe to call from several threads at once."""

    @abstractmethod
    def describe(self) -> dict:
        """What actually runs: provider, device, thread safety and anything a user would ask."""


_BACKENDS: dict[str, type[Backend]] = {}


def register(cls: type[Backend]) -> type[Backend]:
    _BACKENDS[cls.name] = cls
    return cls


def backend_classes() -> dict[str, type[Backend]]:
    from visionrt.runtime.backends import openvino, ort, tensorrt  # noqa: F401  (each registers itself)

    return dict(_BACKENDS)
