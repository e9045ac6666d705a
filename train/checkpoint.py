"""Training checkpoints: weights plus everything export needs to write a self-describing artifact."""

import io
from pathlib import Path
from typing import Any

from visionrt import atomic
from visionrt.errors import ArtifactError
from visionrt.extras import require
from visionrt.hashing import sha256_file

FORMAT = "visionrt-checkpoint/1"


def save(path: str | Path, payload: dict[str, Any]) -> Path:
    """Save atomically; ``payload`` holds 'model', 'arch_kwargs', 'state_dict' and descriptive fields."""
    torch = require("torch", "train")
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buffer)
    return atomic.write_bytes(path, buffer.getvalue())


def load(path: str | Path) -> dict[str, Any]:
    torch = require("torch", "train")
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for corrupt files
        raise ArtifactError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a visionrt checkpoint (expected format {FORMAT})")
    return payload


def sha256(path: str | Path) -> str:
    return sha256_file(path)


def build_model(payload: dict[str, Any]):
    """Rebuild the nn.Module a checkpoint holds, in eval mode, on the CPU."""
    from visionrt import model_zoo

    spec = model_zoo.get(payload["model"])
    model = model_zoo.resolve(spec.architecture)(**payload["arch_kwargs"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()
