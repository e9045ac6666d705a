"""What an artifact says about itself, parsed from the JSON its ``visionrt`` metadata entry holds."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionrt.errors import ArtifactError
from visionrt.extras import require

KEY = "visionrt"


def read_custom_map(path: Path) -> dict[str, str]:
    """An ONNX file's ``metadata_props``, read through a CPU session that runs no graph optimizer.

    Reading metadata needs none, and an optimizer can crash the process: ONNX Runtime 1.32's NCHWc
    transformer segfaults on the FP16 digit reader (see ``backends.ort.disabled_optimizers``).
    """
    ort = require("onnxruntime", None)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


@dataclass(frozen=True)
class ModelInfo:
    """The parts of the metadata the runtime acts on; ``raw`` keeps the whole document."""

    model: str | None = None
    task: str | None = None
    precision: str | None = None
    labels: tuple[str, ...] | None = None
    preprocessing: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_custom_map(cls, custom: dict[str, str], origin: str) -> "ModelInfo":
        """Parse ONNX ``metadata_props``; an ONNX file without our entry still runs, with no task API."""
        text = custom.get(KEY)
        if text is None:
            return cls()
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{origin}: the '{KEY}' metadata entry is not valid JSON ({exc})") from exc
        labels = raw.get("labels")
        return cls(
            model=raw.get("model"), task=raw.get("task"), precision=raw.get("precision"),
            labels=tuple(labels) if labels else None, preprocessing=raw.get("preprocessing"), raw=raw,
        )
