"""What an ONNX file holds that the runtime must know before any engine opens it, read from the
protobuf wire format with no onnx package and no inference session.

The runtime's base install has no ``onnx``, and opening an ONNX Runtime session only to read metadata
costs a second session per load and can crash the process (an optimizer that segfaults on the graph).
So the file is scanned here: ``metadata_props``, the opset, and whether the graph computes in FP16 anywhere,
a fact taken from the graph itself because a guard that depends on it must not be switched off by metadata.
Only the fields below are read; everything else, tensor payloads included, is skipped by its length.
"""

from dataclasses import dataclass
from pathlib import Path

from visionrt.errors import ArtifactError

FLOAT16 = 10  # onnx.TensorProto.FLOAT16
QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"}
# Field numbers from onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ...).
MODEL_GRAPH, MODEL_OPSET, MODEL_METADATA = 7, 8, 14
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_VALUES = 1, 5, (11, 12, 13)  # input, output, value_info
NODE_OP_TYPE, NODE_ATTRIBUTE = 4, 5
ATTRIBUTE_NAME, ATTRIBUTE_INT, ATTRIBUTE_TENSOR, ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS = 1, 3, 5, 6, 11
TENSOR_DATA_TYPE = 2


@dataclass(frozen=True)
class OnnxFacts:
    metadata: dict[str, str]  # metadata_props, key -> value
    opset: int | None  # of the default ("" or "ai.onnx") domain
    float16: bool  # some tensor of the graph (or a subgraph) is FP16: a weight, a Cast target, a typed value
    int8: bool = False  # the graph quantizes: QuantizeLinear/DequantizeLinear or integer ops


class _Truncated(Exception):
    pass


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise _Truncated(pos)
        byte = data[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(data: memoryview):
    """(field number, wire type, value) for each field of one message; a length-delimited value is a
    memoryview of its bytes, a varint an int, a fixed-width value its raw bytes."""
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Truncated(pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise _Truncated(pos)
            value, pos = data[pos : pos + width], pos + width
        else:
            raise _Truncated(pos)  # groups (3, 4) and unknown wire types never appear in ONNX files
        yield number, wire, value


def _text(value) -> str:
    return bytes(value).decode("utf-8", errors="replace")


def _entry(message: memoryview) -> tuple[str, str]:
    found = {number: _text(value) for number, wire, value in fields(message) if wire == 2}
    return found.get(1, ""), found.get(2, "")


def _tensor_is_fp16(tensor: memoryview) -> bool:
    return any(number == TENSOR_DATA_TYPE and wire == 0 and value == FLOAT16 for number, wire, value in fields(tensor))


def _value_is_fp16(value_info: memoryview) -> bool:
    """ValueInfoProto.type (2) -> TypeProto.tensor_type (1) -> elem_type (1)."""
    for number, wire, type_proto in fields(value_info):
        if number == 2 and wire == 2:
            for inner, inner_wire, tensor_type in fields(type_proto):
                if inner == 1 and inner_wire == 2:
                    return any(n == 1 and w == 0 and v == FLOAT16 for n, w, v in fields(tensor_type))
    return False


def _node_is_fp16(node: memoryview) -> bool:
    op_type, attributes = "", []
    for number, wire, value in fields(node):
        if number == NODE_OP_TYPE and wire == 2:
            op_type = _text(value)
        elif number == NODE_ATTRIBUTE and wire == 2:
            attributes.append(value)
    for attribute in attributes:
        name, target = "", None
        for number, wire, value in fields(attribute):
            if number == ATTRIBUTE_NAME and wire == 2:
                name = _text(value)
            elif number == ATTRIBUTE_INT and wire == 0:
                target = value
            elif number == ATTRIBUTE_TENSOR and wire == 2 and _tensor_is_fp16(value):
                return True
            elif number in (ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS) and wire == 2 and _graph_is_fp16(value):
                return True
        if op_type == "Cast" and name == "to" and target == FLOAT16:
            return True
    return False


def _graph_quantizes(graph: memoryview) -> bool:
    for number, wire, node in fields(graph):
        if number == GRAPH_NODE and wire == 2:
            for field_number, field_wire, value in fields(node):
                if field_number == NODE_OP_TYPE and field_wire == 2 and _text(value) in QUANTIZED_OPS:
                    return True
    return False


def _graph_is_fp16(graph: memoryview) -> bool:
    for number, wire, value in fields(graph):
        if wire != 2:
            continue
        if number == GRAPH_INITIALIZER and _tensor_is_fp16(value):
            return True
        if number in GRAPH_VALUES and _value_is_fp16(value):
            return True
        if number == GRAPH_NODE and _node_is_fp16(value):
            return True
    return False


def _opset(message: memoryview) -> tuple[str, int]:
    domain, version = "", 0
    for number, wire, value in fields(message):
        if number == 1 and wire == 2:
            domain = _text(value)
        elif number == 2 and wire == 0:
            version = value
    return domain, version


def read_facts(path: str | Path) -> OnnxFacts:
    """The metadata, opset and FP16 fact of the ONNX file at ``path``; ArtifactError if it is not one."""
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror or exc}") from exc
    metadata, opset, float16, int8, graphs = {}, None, False, False, 0
    try:
        for number, wire, value in fields(data):
            if wire != 2:
                continue
            if number == MODEL_METADATA:
                key, text = _entry(value)
                metadata[key] = text
            elif number == MODEL_OPSET:
                domain, version = _opset(value)
                if domain in ("", "ai.onnx"):
                    opset = version
            elif number == MODEL_GRAPH:
                graphs += 1
                float16 = float16 or _graph_is_fp16(value)
                int8 = int8 or _graph_quantizes(value)
    except (_Truncated, RecursionError) as exc:
        raise ArtifactError(f"{path} is not a readable ONNX file (damaged or truncated near byte "
                            f"{exc.args[0] if exc.args else '?'}); re-export or copy it again") from exc
    if graphs != 1:
        raise ArtifactError(f"{path} is not an ONNX model: it holds {graphs} graphs, expected one")
    return OnnxFacts(metadata, opset, float16, int8)
