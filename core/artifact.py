"""The artifact contract: the files a model folder holds and the metadata each ONNX file carries, typed,
with one reader that validates every field.

The exporter fills these dataclasses and writes them as one JSON document under the ``visionrt`` key of the
ONNX file's ``metadata_props``; the runtime, every backend, the engine cache, the listing and the model card
read them back through :func:`read` and nothing else. A field that is missing or holds the wrong kind of value
fails at load, naming the file, the field, what it holds and what was expected, instead of surfacing later as
a KeyError deep in a task. Facts that a safety guard depends on (does the graph compute in FP16?) come from
the graph itself (:mod:`visionrt.onnx_wire`), so no metadata can switch a guard off.
"""

import json
from dataclasses import dataclass, field, fields as dataclass_fields
from pathlib import Path

from visionrt.errors import ArtifactError
from visionrt.metadata_fields import Fields, is_int, is_number, is_text, list_of

METADATA_KEY = "visionrt"
SCHEMA_NAME = "visionrt-metadata"
SCHEMA_VERSION = 1
SCHEMA = f"{SCHEMA_NAME}/{SCHEMA_VERSION}"
FILES = {"fp32": "model.onnx", "fp16": "model_fp16.onnx", "int8": "model_int8.onnx"}  # precision -> file name
PRECISIONS = tuple(FILES)
WEIGHTS_FILE, REPORT_FILE, CONFIG_FILE, CARD_FILE = "weights.pt", "export_report.json", "config.pbtxt", "MODEL_CARD.md"
EAGER_FILE = "eager.pt2"  # a user's module as a torch.export program: the eager baseline without the user's code
RESAMPLE_NAMES = ("box", "bilinear", "bicubic", "nearest")
COLOR_CHANNELS = {"L": 1, "RGB": 3}
LAYOUT_RANK = {"NCHW": 3, "NC": 1}  # item dims after the batch axis
NOTE_KEYS = ("input", "output", "lab", "pad")  # preprocessing notes for people (e.g. "L/100"); the code reads none
# Fields a task cannot work without, checked at load rather than met as a KeyError later.
TASK_NEEDS = {"classification": ("preprocessing", "labels"), "text_recognition": ("preprocessing", "alphabet", "blank"),
              "denoising": ("preprocessing",), "colorization": ("preprocessing",), "style_transfer": ("preprocessing",),
              "face_swap": ("preprocessing",), "vae_encoder": ("preprocessing",), "vae_decoder": ()}


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the network's input: colour, size (None: any), scale, invert, mean/std.

    ``size`` None on the width keeps the aspect ratio (rounded up to ``width_multiple``, at least
    ``min_width``); image-to-image models take any size whose sides are multiples of ``multiple``.
    """

    color: str
    size: tuple[int | None, int | None]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 1.0 / 255.0
    resample: str = "bilinear"
    invert: bool = False
    multiple: int = 1
    width_multiple: int = 1
    min_width: int = 1
    work_size: int | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, reader: Fields) -> "Preprocessing":
        color = reader.get("color", lambda v: v in COLOR_CHANNELS, f"one of {sorted(COLOR_CHANNELS)}")
        channels = COLOR_CHANNELS[color]
        per_channel = f"a list of {channels} number(s), one per {color} channel"
        return cls(
            color=color,
            size=tuple(reader.get("size", list_of(lambda v: v is None or is_int(v), 2),
                                  "[height, width], each a positive whole number or null (any)")),
            mean=tuple(reader.get("mean", list_of(is_number, channels), per_channel)),
            std=tuple(reader.get("std", list_of(lambda v: is_number(v) and v > 0, channels),
                                 f"{per_channel}, each above 0")),
            scale=reader.get("scale", lambda v: is_number(v) and v > 0, "a number above 0", 1.0 / 255.0),
            resample=reader.get("resample", lambda v: v in RESAMPLE_NAMES, f"one of {list(RESAMPLE_NAMES)}", "bilinear"),
            invert=reader.get("invert", lambda v: isinstance(v, bool), "true or false", False),
            multiple=reader.get("multiple", is_int, "a whole number >= 1", 1),
            width_multiple=reader.get("width_multiple", is_int, "a whole number >= 1", 1),
            min_width=reader.get("min_width", is_int, "a whole number >= 1", 1),
            work_size=reader.get("work_size", lambda v: is_int(v, 4), "a whole number >= 4", None),
            notes={key: reader.get(key, lambda v: isinstance(v, str), "a string") for key in NOTE_KEYS
                   if key in reader.doc},
        )

    @classmethod
    def from_dict(cls, doc, origin: str) -> "Preprocessing":
        return cls.parse(Fields(doc, origin, "preprocessing."))

    @property
    def channels(self) -> int:
        return COLOR_CHANNELS[self.color]

    def to_dict(self) -> dict:
        """Every field, written out: a reader never has to know a default."""
        found = {f.name: getattr(self, f.name) for f in dataclass_fields(self) if f.name != "notes"}
        found.update(size=list(self.size), mean=list(self.mean), std=list(self.std))
        if self.work_size is None:
            del found["work_size"]
        return {**found, **self.notes}


@dataclass(frozen=True)
class InputSpec:
    name: str
    layout: str  # "NCHW" or "NC"
    shape: tuple[int | None, ...]  # after the batch axis; None for a dynamic axis
    dtype: str = "float32"

    @classmethod
    def parse(cls, reader: Fields) -> "InputSpec":
        layout = reader.get("layout", lambda v: v in LAYOUT_RANK, f"one of {sorted(LAYOUT_RANK)}")
        rank = LAYOUT_RANK[layout]
        shape = reader.get("shape", list_of(lambda v: v is None or is_int(v), rank),
                           f"a list of {rank} sizes after the batch axis ({layout}), each a positive whole number or null")
        return cls(name=reader.get("name", is_text, "the graph input's name"), layout=layout, shape=tuple(shape),
                   dtype=reader.get("dtype", lambda v: v == "float32", '"float32"', "float32"))

    def to_dict(self) -> dict:
        return {"name": self.name, "layout": self.layout, "shape": list(self.shape), "dtype": self.dtype}


def _schema_version(value, origin: str) -> int:
    name, _, version = str(value).partition("/")
    if name != SCHEMA_NAME or not version.isdigit():
        raise ArtifactError(f"{origin}: visionrt metadata field 'schema' holds {json.dumps(value)[:60]}, expected "
                            f"'{SCHEMA}'; this is not a visionrt artifact's metadata")
    if int(version) > SCHEMA_VERSION:
        import visionrt

        raise ArtifactError(f"{origin} was written by a newer visionrt (metadata schema {value}); visionrt "
                            f"{visionrt.__version__} reads up to {SCHEMA}: upgrade visionrt to load it")
    return int(version)


@dataclass(frozen=True)
class ArtifactMetadata:
    """Everything an ONNX artifact says about itself; the runtime needs nothing else to use it."""

    model: str
    task: str | None
    input: InputSpec
    outputs: tuple[str, ...]
    max_batch_size: int
    precision: str
    dynamic_ranges: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # item axis (from 1) -> range
    preprocessing: Preprocessing | None = None
    labels: tuple[str, ...] | None = None
    fp32_nodes: tuple[str, ...] = ()  # nodes an FP16 file computes in FP32, or an INT8 file leaves float
    alphabet: str | None = None  # text_recognition: class i is alphabet[i], except the CTC blank
    blank: int | None = None
    latent: int | None = None  # VAE
    beta: float | None = None
    noise: dict | None = None  # denoiser: the noise it was trained on
    summary: str = ""
    metrics: dict = field(default_factory=dict)  # held-out figures, as training measured them
    training: dict = field(default_factory=dict)  # {"data": ..., "config": ...}
    parity: dict = field(default_factory=dict)  # export gates' figures
    provenance: dict = field(default_factory=dict)  # weights sha256, exporter, opset, versions, export time
    schema: str = SCHEMA

    PROVENANCE = ("source_weights_sha256", "exporter", "opset", "torch_version", "visionrt_version", "exported_at")

    @classmethod
    def from_dict(cls, doc, origin: str) -> "ArtifactMetadata":
        reader = Fields(doc, origin)
        schema = reader.get("schema", lambda v: True, f"'{SCHEMA}'")
        _schema_version(schema, origin)
        spec = InputSpec.parse(reader.nested("input"))
        found = cls(
            model=reader.get("model", is_text, "the model's name"),
            task=reader.get("task", is_text, "a task name such as 'classification'", None),
            input=spec,
            outputs=tuple(reader.get("outputs", lambda v: bool(v) and list_of(is_text)(v), "a list of output names")),
            max_batch_size=reader.get("max_batch_size", is_int, "a whole number >= 1"),
            precision=reader.get("precision", lambda v: v in PRECISIONS, f"one of {list(PRECISIONS)}"),
            dynamic_ranges=_ranges(reader, spec),
            preprocessing=Preprocessing.parse(reader.nested("preprocessing")) if reader.doc.get("preprocessing") is not None else None,
            labels=_optional_tuple(reader, "labels", list_of(lambda v: isinstance(v, str)), "a list of label strings"),
            fp32_nodes=tuple(reader.get("fp32_nodes", list_of(is_text), "a list of node names", [])),
            alphabet=reader.get("alphabet", is_text, "a non-empty string of the readable characters", None),
            blank=reader.get("blank", lambda v: is_int(v, 0), "the blank class's index", None),
            latent=reader.get("latent", is_int, "a whole number >= 1", None),
            beta=reader.get("beta", is_number, "a number", None),
            noise=reader.get("noise", lambda v: isinstance(v, dict), "an object", None),
            summary=reader.get("summary", lambda v: isinstance(v, str), "a string", ""),
            metrics=reader.get("metrics", lambda v: isinstance(v, dict), "an object", {}),
            training=reader.get("training", lambda v: isinstance(v, dict), "an object", {}),
            parity=reader.get("parity", lambda v: isinstance(v, dict), "an object", {}),
            provenance={key: reader.doc[key] for key in cls.PROVENANCE if key in reader.doc},
            schema=schema,
        )
        found._check_task(reader)
        return found

    def _check_task(self, reader: Fields) -> None:
        for name in TASK_NEEDS.get(self.task or "", ()):
            if getattr(self, name) is None:
                raise ArtifactError(f"{reader.origin}: task '{self.task}' needs visionrt metadata field '{name}', "
                                    "which is missing; re-export the model")
        if self.blank is not None and self.alphabet is not None and self.blank != len(self.alphabet):
            reader.fail("blank", self.blank, f"{len(self.alphabet)}, the class after the alphabet's last (the decoder "
                                             "reads class i as alphabet[i])")
        if self.task in ("classification", "text_recognition", "face_swap", "vae_encoder") and self.preprocessing \
                and self.preprocessing.size[0] is None:
            reader.fail("preprocessing.size", list(self.preprocessing.size), f"a fixed height for task '{self.task}'")
        if self.task == "face_swap" and None in self.input.shape:
            reader.fail("input.shape", list(self.input.shape), "a fixed size for task 'face_swap'")
        if self.preprocessing and self.input.layout == "NCHW" and self.preprocessing.channels != self.input.shape[0]:
            reader.fail("preprocessing.color", self.preprocessing.color,
                        f"a colour with the input's {self.input.shape[0]} channel(s)")

    @property
    def classes(self) -> tuple[str, ...] | None:
        """What each score of a class output means: the labels, or the reader's alphabet with its blank."""
        if self.task == "text_recognition":
            return tuple(self.alphabet) + ("<blank>",)
        return self.labels if self.task == "classification" else None

    def to_dict(self) -> dict:
        """The JSON document, as the exporter writes it."""
        doc = {"schema": self.schema, "model": self.model, "task": self.task, "summary": self.summary,
               "input": self.input.to_dict(), "outputs": list(self.outputs), "max_batch_size": self.max_batch_size,
               "dynamic_ranges": {str(axis): list(r) for axis, r in self.dynamic_ranges.items()},
               "preprocessing": self.preprocessing.to_dict() if self.preprocessing else None,
               "labels": list(self.labels) if self.labels is not None else None,
               "metrics": self.metrics, "training": self.training, "precision": self.precision, **self.provenance}
        optional = {"alphabet": self.alphabet, "blank": self.blank, "latent": self.latent, "beta": self.beta,
                    "noise": self.noise, "parity": self.parity or None,
                    "fp32_nodes": list(self.fp32_nodes) if self.precision in ("fp16", "int8") else None}
        return {**doc, **{key: value for key, value in optional.items() if value is not None}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _optional_tuple(reader: Fields, name: str, check, expected: str):
    value = reader.get(name, check, expected, None)
    return tuple(value) if value is not None else None


def _ranges(reader: Fields, spec: InputSpec) -> dict[int, tuple[int, int, int]]:
    ranges = reader.get("dynamic_ranges", lambda v: isinstance(v, dict), "an object of axis -> [min, opt, max]", {})
    dynamic = [axis for axis, size in enumerate(spec.shape, start=1) if size is None]
    found = {}
    for key, value in ranges.items():
        if not (str(key).isdigit() and int(key) in dynamic):
            reader.fail(f"dynamic_ranges.{key}", value, f"a range for a dynamic input axis (dynamic: {dynamic})")
        if not (list_of(is_int, 3)(value) and value[0] <= value[1] <= value[2]):
            reader.fail(f"dynamic_ranges.{key}", value, "[min, opt, max] whole numbers with min <= opt <= max")
        found[int(key)] = tuple(value)
    return found


def parse(text: str, origin: str) -> ArtifactMetadata:
    """The metadata from its JSON text; ArtifactError naming ``origin`` and the field when anything is off."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ArtifactError(f"{origin}: the '{METADATA_KEY}' metadata entry is not valid JSON ({exc}); "
                            "re-export the model") from exc
    return ArtifactMetadata.from_dict(doc, origin)


@dataclass(frozen=True)
class Artifact:
    """One ONNX file as the runtime will use it: where it is, what it says, and what its graph holds."""

    path: Path
    metadata: ArtifactMetadata | None  # None: a plain ONNX file, served by run() alone
    float16: bool  # from the graph: some tensor is FP16 (weights, casts or typed values)
    opset: int | None
    int8: bool = False  # from the graph: it holds quantize/dequantize (or integer) ops

    @property
    def precision(self) -> str:
        """What the file computes at: the metadata's word, which :func:`read` has checked against the graph."""
        if self.metadata:
            return self.metadata.precision
        return "int8" if self.int8 else ("fp16" if self.float16 else "fp32")

    @property
    def name(self) -> str:
        return self.metadata.model if self.metadata else self.path.stem


def read(path: str | Path) -> Artifact:
    """Read and validate an ONNX file's visionrt metadata and the graph facts the runtime's guards use."""
    from visionrt.onnx_wire import read_facts

    path = Path(path)
    facts = read_facts(path)
    text = facts.metadata.get(METADATA_KEY)
    metadata = parse(text, str(path)) if text is not None else None
    for precision, fact, what in (("fp16", facts.float16, "FP16 tensors"), ("int8", facts.int8, "quantized ops")):
        if metadata is not None and (metadata.precision == precision) != fact:
            holds = what if fact else f"no {what}"
            raise ArtifactError(f"{path}: the metadata says precision {metadata.precision} but the graph holds {holds}; "
                                "the file and its metadata disagree, re-export the model")
    return Artifact(path, metadata, facts.float16, facts.opset, facts.int8)


def embed(model_proto, metadata: ArtifactMetadata) -> None:
    """Write ``metadata`` into an ``onnx.ModelProto`` (replacing any previous visionrt entry)."""
    kept = [prop for prop in model_proto.metadata_props if prop.key != METADATA_KEY]
    del model_proto.metadata_props[:]
    model_proto.metadata_props.extend(kept)
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, metadata.to_json()


def from_proto(model_proto, origin: str) -> ArtifactMetadata | None:
    """The metadata of an in-memory ``onnx.ModelProto`` (None without a visionrt entry)."""
    for prop in model_proto.metadata_props:
        if prop.key == METADATA_KEY:
            return parse(prop.value, origin)
    return None
