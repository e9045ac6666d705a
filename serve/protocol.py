"""The Open Inference Protocol (KServe v2) as numpy: datatypes, tensors in and out, and the errors a request
can earn. HTTP and gRPC both decode into :class:`Request` and encode from a list of output arrays, so the two
front ends cannot disagree on what a request means.

Errors carry their status: :class:`BadRequest` is HTTP 400 / gRPC INVALID_ARGUMENT (the caller's fault, the
server keeps serving), :class:`NotFound` 404 / NOT_FOUND, :class:`Unavailable` 503 / UNAVAILABLE with a
retry hint (a full queue or a draining server).
"""

import logging
import math
from dataclasses import dataclass, field

import numpy as np

access_log = logging.getLogger("visionrt.serve.access")  # one line per request, HTTP and gRPC alike

# v2 datatype <-> numpy; BYTES is numpy's object array of bytes, as tritonclient builds it.
DATATYPES = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
             "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "FP16": np.float16,
             "FP32": np.float32, "FP64": np.float64, "BYTES": np.object_}
NUMPY_TO_DATATYPE = {np.dtype(v).name: k for k, v in DATATYPES.items() if k != "BYTES"}
MAX_ELEMENTS = 1 << 32  # a shape beyond this cannot be backed by any body the server accepts


class ProtocolError(Exception):
    http_status, grpc_code = 400, "INVALID_ARGUMENT"
    reason = "OTHER"  # the failure's label in Triton's nv_inference_request_failure metric


class BadRequest(ProtocolError):
    """The request is malformed or does not fit the model; the message names the field, shape or size."""


class NotFound(ProtocolError):
    http_status, grpc_code = 404, "NOT_FOUND"


class Unavailable(ProtocolError):
    """Not now: the queue is full or the server is stopping. ``retry_after`` seconds is the hint."""

    http_status, grpc_code, reason = 503, "UNAVAILABLE", "REJECTED"

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


class EngineFailed(BadRequest):
    """The engine failed on this input, or gave NaN or Inf for it: the input's fault, counted as BACKEND."""

    reason = "BACKEND"


class Timeout(ProtocolError):
    http_status, grpc_code, reason = 504, "DEADLINE_EXCEEDED", "CANCELED"


@dataclass
class Request:
    """One inference request, decoded: its inputs by name and the outputs it asked for (all, when empty)."""

    model: str
    inputs: dict[str, np.ndarray]
    id: str = ""
    outputs: list[str] = field(default_factory=list)
    binary_outputs: dict[str, bool] = field(default_factory=dict)  # HTTP only: per output, binary or JSON
    binary_default: bool = False
    classification: dict[str, int] = field(default_factory=dict)  # output -> top-k (Triton's classification extension)


def datatype_of(dtype) -> str:
    return NUMPY_TO_DATATYPE.get(np.dtype(dtype).name, "BYTES")


def element_count(shape, where: str) -> int:
    if not isinstance(shape, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise BadRequest(f"{where}: 'shape' must be a list of integers, got {shape!r}")
    if any(d < 0 for d in shape):
        raise BadRequest(f"{where}: shape {list(shape)} has a negative dimension")
    count = math.prod(shape)  # Python integers: numpy's int64 product wraps silently
    if count > MAX_ELEMENTS:
        raise BadRequest(f"{where}: shape {list(shape)} holds {count:,} elements, more than any request can carry")
    return count


def numpy_dtype(datatype, where: str):
    if datatype not in DATATYPES:
        raise BadRequest(f"{where}: unknown datatype {datatype!r}; expected one of {', '.join(DATATYPES)}")
    return DATATYPES[datatype]


def from_raw(raw: bytes | memoryview, datatype: str, shape, where: str) -> np.ndarray:
    """A tensor from its raw little-endian bytes (HTTP binary data, gRPC raw_input_contents)."""
    count = element_count(shape, where)
    dtype = numpy_dtype(datatype, where)
    if datatype == "BYTES":
        return np.array(split_bytes(bytes(raw), count, where), dtype=np.object_).reshape(shape)
    expected = count * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise BadRequest(f"{where}: {len(raw)} bytes of data for {datatype} of shape {list(shape)}, which needs "
                         f"{expected}")
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype, copy=False).reshape(shape)


def split_bytes(raw: bytes, count: int, where: str) -> list[bytes]:
    """BYTES elements, each a 4-byte little-endian length and that many bytes."""
    items, offset = [], 0
    for _ in range(count):
        if offset + 4 > len(raw):
            raise BadRequest(f"{where}: BYTES data ends after {len(items)} of {count} elements")
        length = int.from_bytes(raw[offset:offset + 4], "little")
        if offset + 4 + length > len(raw):
            raise BadRequest(f"{where}: BYTES element {len(items)} claims {length} bytes; {len(raw) - offset - 4} remain")
        items.append(raw[offset + 4:offset + 4 + length])
        offset += 4 + length
    if offset != len(raw):
        raise BadRequest(f"{where}: {len(raw) - offset} bytes left over after {count} BYTES elements")
    return items


def to_raw(value: np.ndarray) -> bytes:
    if value.dtype == np.object_:
        return b"".join(len(item).to_bytes(4, "little") + item for item in (as_bytes(v) for v in value.flat))
    return np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()


def as_bytes(item) -> bytes:
    return item if isinstance(item, bytes) else str(item).encode()


def from_json_data(data, datatype: str, shape, where: str) -> np.ndarray:
    """A tensor from JSON ``data``: a flat or nested list in row-major order, as the protocol allows."""
    count = element_count(shape, where)
    dtype = numpy_dtype(datatype, where)
    if datatype == "BYTES":
        flat = list(flatten(data, where))
        if not all(isinstance(v, str) for v in flat):
            raise BadRequest(f"{where}: BYTES data in JSON must be strings")
        items = [v.encode() for v in flat]
    else:
        try:
            items = np.asarray(list(flatten(data, where)), dtype=dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise BadRequest(f"{where}: data does not hold {datatype} values ({exc})") from None
    if len(items) != count:
        raise BadRequest(f"{where}: {len(items)} values of data for shape {list(shape)}, which needs {count}")
    if datatype == "BYTES":
        return np.array(items, dtype=np.object_).reshape(shape)
    return items.reshape(shape)


def flatten(data, where: str):
    if not isinstance(data, list):
        raise BadRequest(f"{where}: 'data' must be a list, got {type(data).__name__}")
    for item in data:
        if isinstance(item, list):
            yield from flatten(item, where)
        elif isinstance(item, (dict, type(None))):
            raise BadRequest(f"{where}: 'data' holds {type(item).__name__}; expected numbers or strings")
        else:
            yield item


def to_json_data(value: np.ndarray) -> list:
    if value.dtype == np.object_:
        return [as_bytes(v).decode("utf-8", "replace") for v in value.flat]
    return value.ravel().tolist()
