"""The artifact contract: every shipped file reads back into typed metadata and round-trips, and every field
that is missing or holds the wrong thing is refused at load with the file, the field, what it holds and
what was expected."""

import copy
import json

import pytest

from visionrt import artifact, model_zoo
from visionrt.errors import ArtifactError

SHIPPED = sorted(model_zoo.model_dir(name) / "1" / file for name in model_zoo.names() if model_zoo.installed(name)
                 for file in artifact.FILES.values() if (model_zoo.model_dir(name) / "1" / file).is_file())


def document(name: str = "digits", precision: str = "fp32") -> dict:
    return artifact.read(model_zoo.model_dir(name) / "1" / artifact.FILES[precision]).metadata.to_dict()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_shipped_file_reads_and_round_trips(path):
    found = artifact.read(path)
    assert found.metadata is not None and found.metadata.model == path.parent.parent.name
    by_file = {file: precision for precision, file in artifact.FILES.items()}
    assert found.precision == by_file[path.name] and found.int8 == (found.precision == "int8") and found.opset == 18
    assert artifact.parse(found.metadata.to_json(), "again") == found.metadata


def test_the_graph_says_whether_it_computes_in_fp16_whatever_the_metadata_says():
    assert artifact.read(model_zoo.model_dir("digit_reader") / "1" / "model_fp16.onnx").float16
    assert not artifact.read(model_zoo.model_dir("digit_reader") / "1" / "model.onnx").float16


def broken(path: str, value):
    """The digits FP32 document with the field at dotted ``path`` set to ``value`` (deleted for ...)."""
    doc = copy.deepcopy(document())
    *parents, last = path.split(".")
    holder = doc
    for key in parents:
        holder = holder[key]
    if value is ...:
        del holder[last]
    else:
        holder[last] = value
    return doc


HOSTILE = [  # (field, value, what the error must say)
    ("model", 3, "'model' holds 3 (a number), expected the model's name"),
    ("model", ..., "no field 'model'"),
    ("input", [1, 8, 8], "'input' holds [1, 8, 8] (a list), expected a JSON object"),
    ("input.shape", [1, 8], "'input.shape' holds [1, 8] (a list), expected a list of 3 sizes"),
    ("input.shape", [1, 0, 8], "'input.shape' holds [1, 0, 8]"),
    ("input.layout", "NHWC", "expected one of ['NC', 'NCHW']"),
    ("input.dtype", "float64", "expected \"float32\""),
    ("outputs", [], "'outputs' holds [] (a list), expected a list of output names"),
    ("max_batch_size", 0, "'max_batch_size' holds 0 (a number), expected a whole number >= 1"),
    ("max_batch_size", True, "'max_batch_size' holds true (a boolean)"),
    ("max_batch_size", "64", "'max_batch_size' holds \"64\" (a string)"),
    ("precision", "int4", "'precision' holds \"int4\" (a string), expected one of ['fp32', 'fp16', 'int8']"),
    ("dynamic_ranges", {"2": [1, 8, 8]}, "'dynamic_ranges.2' holds [1, 8, 8] (a list), expected a range for a "
                                         "dynamic input axis (dynamic: [])"),
    ("preprocessing", [1], "'preprocessing' holds [1] (a list), expected a JSON object"),
    ("preprocessing.size", ..., "no field 'preprocessing.size'"),
    ("preprocessing.resample", "lanczos9", "'preprocessing.resample' holds \"lanczos9\""),
    ("preprocessing.mean", [0.1, 0.2, 0.3], "expected a list of 1 number(s), one per L channel"),
    ("preprocessing.std", [0.0], "each above 0"),
    ("preprocessing.color", "CMYK", "expected one of ['L', 'RGB']"),
    ("preprocessing.color", "RGB", "'preprocessing.mean' holds [0.30"),  # three channels of stats would be needed
    ("preprocessing.invert", "yes", "'preprocessing.invert' holds \"yes\" (a string), expected true or false"),
    ("labels", "0123456789", "'labels' holds \"0123456789\" (a string), expected a list of label strings"),
    ("labels", ..., "task 'classification' needs visionrt metadata field 'labels'"),
    ("schema", "visionrt-metadata/2", "written by a newer visionrt (metadata schema visionrt-metadata/2)"),
    ("schema", "somebody-else/1", "this is not a visionrt artifact's metadata"),
    ("metrics", [], "'metrics' holds [] (a list), expected an object"),
]


@pytest.mark.parametrize("field, value, message", HOSTILE, ids=[f"{f}={v!r}"[:40] for f, v, _ in HOSTILE])
def test_a_broken_field_is_refused_naming_the_file_and_the_field(field, value, message):
    with pytest.raises(ArtifactError) as caught:
        artifact.parse(json.dumps(broken(field, value)), "zoo/digits/1/model.onnx")
    assert str(caught.value).startswith("zoo/digits/1/model.onnx") and message in str(caught.value)


def test_a_reader_without_its_alphabet_or_with_a_blank_past_it_is_refused():
    reader = document("digit_reader")
    with pytest.raises(ArtifactError, match="task 'text_recognition' needs visionrt metadata field 'alphabet'"):
        artifact.ArtifactMetadata.from_dict({k: v for k, v in reader.items() if k != "alphabet"}, "reader.onnx")
    with pytest.raises(ArtifactError, match=r"'blank' holds 12 .*expected 10, the class after"):
        artifact.ArtifactMetadata.from_dict({**reader, "blank": 12}, "reader.onnx")


def test_a_range_must_be_ordered_and_on_a_dynamic_axis():
    style = document("style")
    with pytest.raises(ArtifactError, match=r"'dynamic_ranges.2' holds \[512, 256, 16\].*min <= opt <= max"):
        artifact.ArtifactMetadata.from_dict({**style, "dynamic_ranges": {"2": [512, 256, 16]}}, "style.onnx")
    with pytest.raises(ArtifactError, match=r"dynamic_ranges.1.*dynamic: \[2, 3\]"):
        artifact.ArtifactMetadata.from_dict({**style, "dynamic_ranges": {"1": [1, 3, 3]}}, "style.onnx")


@pytest.mark.parametrize("text, message", [("{not json", "is not valid JSON"),
                                           ("[1, 2]", r"the visionrt metadata holds \[1, 2\] \(a list\), expected a JSON object")])
def test_metadata_that_is_not_a_json_object_is_refused(text, message):
    with pytest.raises(ArtifactError, match=message):
        artifact.parse(text, "m.onnx")


def test_a_file_whose_metadata_contradicts_its_graph_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(model_zoo.model_dir("digits") / "1" / "model_fp16.onnx"))
    meta = artifact.from_proto(proto, "digits fp16")
    from dataclasses import replace

    artifact.embed(proto, replace(meta, precision="fp32"))
    onnx.save(proto, str(tmp_path / "model.onnx"))
    with pytest.raises(ArtifactError, match="says precision fp32 but the graph holds FP16 tensors"):
        artifact.read(tmp_path / "model.onnx")
