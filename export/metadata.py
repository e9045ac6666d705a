"""The metadata an ONNX artifact carries so that the runtime needs nothing else to use it.

Everything is one JSON document under the ``visionrt`` key of ``metadata_props`` (parsed, never
evaluated). The runtime reads it back through ONNX Runtime's ``custom_metadata_map``.
"""

import datetime as dt
import json

import visionrt
from visionrt.extras import require

KEY = "visionrt"
SCHEMA = "visionrt-metadata/1"
TASK_FIELDS = ("alphabet", "blank", "latent", "beta", "noise")  # checkpoint fields a task API needs, copied as is


def build(spec, payload: dict, weights_sha256: str, precision: str, exporter: str, opset: int) -> dict:
    """Describe one artifact from its registry spec and training checkpoint."""
    torch = require("torch", "train")
    return {
        "schema": SCHEMA,
        "model": spec.name,
        "task": spec.task,
        "summary": spec.summary,
        "input": {"name": spec.input_name, "layout": "NCHW" if len(spec.input_shape) == 3 else "NC", "shape": list(spec.input_shape), "dtype": "float32"},
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


def embed(model_proto, metadata: dict) -> None:
    """Write ``metadata`` into the ONNX model (replacing any previous visionrt entry)."""
    kept = [prop for prop in model_proto.metadata_props if prop.key != KEY]
    del model_proto.metadata_props[:]
    model_proto.metadata_props.extend(kept)
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = KEY, json.dumps(metadata, sort_keys=True)


def read(model_proto) -> dict:
    for prop in model_proto.metadata_props:
        if prop.key == KEY:
            return json.loads(prop.value)
    return {}
