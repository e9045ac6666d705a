"""The exporter's side of the artifact contract: an artifact's metadata from its registry spec and
training checkpoint, as the typed dataclasses of :mod:`visionrt.artifact` (which also writes and reads them)."""

import datetime as dt

import visionrt
from visionrt import artifact
from visionrt.extras import require

TASK_FIELDS = ("alphabet", "blank", "latent", "beta", "noise")  # checkpoint fields a task API needs, copied as is


def build(spec, payload: dict, weights_sha256: str, precision: str, exporter: str, opset: int) -> artifact.ArtifactMetadata:
    """Describe one artifact; the result passes through the runtime's reader, so an exporter cannot write
    what the runtime would refuse."""
    torch = require("torch", "train")
    doc = {
        "schema": artifact.SCHEMA,
        "model": spec.name,
        "task": spec.task,
        "summary": spec.summary,
        "input": {"name": spec.input_name, "layout": "NCHW" if len(spec.input_shape) == 3 else "NC",
                  "shape": list(spec.input_shape), "dtype": "float32"},
        "outputs": list(spec.output_names),
        "max_batch_size": spec.max_batch_size,
        "dynamic_ranges": {str(axis): list(r) for axis, r in spec.dynamic_ranges.items()},
        "preprocessing": payload["preprocessing"],
        "labels": payload.get("labels"),
        **{key: payload[key] for key in TASK_FIELDS if key in payload},
        "metrics": payload.get("metrics", {}),
        "training": {"data": payload.get("data"), "config": payload.get("train_config")},
        "source_weights_sha256": weights_sha256,
        "precision": precision,
        "exporter": exporter,
        "opset": opset,
        "torch_version": torch.__version__,
        "visionrt_version": visionrt.__version__,
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return artifact.ArtifactMetadata.from_dict(doc, f"the export of {spec.name}")
