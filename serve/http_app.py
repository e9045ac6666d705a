"""The HTTP/REST front end: KServe v2 routes, Triton's binary-data, configuration, statistics and
repository extensions, and visionrt's task routes, as a plain ASGI application for uvicorn.

A dozen fixed routes need no web framework; what matters here is enforced by hand: the body limit while it
is received, and every failure answered as v2 JSON (``{"error": "..."}``) with its status.
"""

import asyncio
import json
import logging
import re
import time
from urllib.parse import parse_qs

import numpy as np

from visionrt.serve import tasks
from visionrt.serve.models import config_to_dict, find, index, statistics_of
from visionrt.serve.protocol import (BadRequest, NotFound, ProtocolError, Request, Timeout, Unavailable, access_log,
                                     datatype_of, from_json_data, from_raw, to_json_data, to_raw)
from visionrt.serve.statistics import prometheus_text

MODEL = r"/v2/models/(?P<model>[^/]+)(?:/versions/(?P<version>[^/]+))?"
ROUTES = [  # (method, pattern, handler name)
    ("GET", r"/v2/health/live", "live"), ("GET", r"/v2/health/ready", "ready"), ("GET", r"/v2", "server_metadata"),
    ("GET", r"/v2/models/stats", "statistics"), ("GET", MODEL + r"/stats", "statistics"),
    ("GET", MODEL + r"/ready", "model_ready"), ("GET", MODEL + r"/config", "model_config"),
    ("GET", MODEL, "model_metadata"), ("POST", MODEL + r"/infer", "infer"),
    ("POST", r"/v2/repository/index", "repository_index"),
    ("POST", r"/v2/models/(?P<model>[^/]+)/(?P<task>[a-z_]+)", "task"),
]
COMPILED = [(method, re.compile(pattern + r"/?$"), name) for method, pattern, name in ROUTES]


class Reply:
    def __init__(self, status: int = 200, body: bytes = b"", content_type: str = "application/json",
                 headers: dict | None = None):
        self.status, self.body, self.content_type, self.headers = status, body, content_type, headers or {}

    @classmethod
    def json(cls, doc, status: int = 200, headers: dict | None = None) -> "Reply":
        return cls(status, json.dumps(doc, separators=(",", ":")).encode(), headers=headers)

    @classmethod
    def error(cls, exc: ProtocolError) -> "Reply":
        headers = {"retry-after": f"{max(1, round(exc.retry_after))}"} if hasattr(exc, "retry_after") else {}
        return cls.json({"error": str(exc)}, exc.http_status, headers)


def parse_infer(model: str, body: bytes, header_length: str | None, datatypes: dict[str, str] | None = None) -> Request:
    """A v2 inference request: JSON, or JSON followed by binary tensor data (Triton's binary extension).
    ``datatypes`` (input -> datatype): inputs the model lacks or of another type are refused before their
    data is decoded, so a body is never expanded for nothing."""
    if header_length is not None:
        if not (header_length.isascii() and header_length.isdigit()) or int(header_length) > len(body):
            raise BadRequest(f"Inference-Header-Content-Length is {header_length!r} but the body has {len(body)} bytes")
        split = int(header_length)
    else:
        split = len(body)
    try:
        doc = json.loads(body[:split])
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"the request is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise BadRequest("the request must be a JSON object with a non-empty 'inputs' list")
    binary, offset, inputs = memoryview(body)[split:], 0, {}
    for position, entry in enumerate(doc["inputs"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BadRequest(f"inputs[{position}] must be an object with a 'name'")
        where = f"input '{entry['name']}'"
        if entry["name"] in inputs:
            raise BadRequest(f"{where} is given twice")
        if datatypes is not None and entry["name"] in datatypes and entry.get("datatype") != datatypes[entry["name"]]:
            raise BadRequest(f"{where}: datatype {entry.get('datatype')}, model '{model}' takes {datatypes[entry['name']]}")
        if datatypes is not None and entry["name"] not in datatypes:
            raise BadRequest(f"model '{model}' has no input '{entry['name']}'; its inputs are {sorted(datatypes)}")
        parameters = entry.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise BadRequest(f"{where}: binary_data_size {size!r} but only {len(binary) - offset} bytes of binary "
                                 "data remain")
            inputs[entry["name"]] = from_raw(binary[offset:offset + size], entry.get("datatype"), entry.get("shape"), where)
            offset += size
        elif "data" in entry:
            inputs[entry["name"]] = from_json_data(entry["data"], entry.get("datatype"), entry.get("shape"), where)
        else:
            raise BadRequest(f"{where} has neither 'data' nor parameters.binary_data_size")
    if offset != len(binary):
        raise BadRequest(f"{len(binary) - offset} bytes of binary data follow the inputs that no input claims")
    outputs = doc.get("outputs") or []
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs):
        raise BadRequest("'outputs' must be a list of objects with a 'name'")
    parameters = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
    return Request(model, inputs, id=str(doc.get("id", "")), outputs=[o["name"] for o in outputs],
                   binary_outputs={o["name"]: bool(o["parameters"].get("binary_data", False)) if isinstance(o.get("parameters"), dict)
                                    else False for o in outputs},
                   binary_default=bool(parameters.get("binary_data_output", False)),
                   classification=classification_counts(outputs))


def classification_counts(outputs: list[dict]) -> dict[str, int]:
    counts = {}
    for output in outputs:
        parameters = output.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise BadRequest(f"output '{output['name']}': parameters must be an object, got {type(parameters).__name__}")
        count = parameters.get("classification")
        if count is not None:
            if not isinstance(count, int) or isinstance(count, bool):
                raise BadRequest(f"output '{output['name']}': parameters.classification must be a whole number, got {count!r}")
            counts[output["name"]] = count
    return counts


def decoded(body: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding`` (gzip or deflate, as tritonclient compresses), held to
    ``limit`` bytes once inflated, so a small compressed body cannot expand into a large one."""
    import zlib

    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid {encoding} data: {exc}") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"the request body inflates past the server's limit of {limit:,} bytes")
    return data


def infer_reply(request: Request, entry, results: dict[str, np.ndarray]) -> Reply:
    doc = {"model_name": entry.name, "model_version": entry.version, "outputs": []}
    if request.id:
        doc["id"] = request.id
    blobs = []
    for name, value in results.items():
        tensor = {"name": name, "datatype": datatype_of(value.dtype), "shape": list(value.shape)}
        if request.binary_outputs.get(name, request.binary_default):
            blob = to_raw(value)
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = to_json_data(value)
        doc["outputs"].append(tensor)
    head = json.dumps(doc, separators=(",", ":")).encode()
    if not blobs:
        return Reply(200, head)
    return Reply(200, head + b"".join(blobs), "application/octet-stream",
                 {"inference-header-content-length": str(len(head))})


async def respond(send, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status,
                "headers": [(b"content-type", reply.content_type.encode()),
                            (b"content-length", str(len(reply.body)).encode())]
                           + [(k.encode(), v.encode()) for k, v in reply.headers.items()]})
    await send({"type": "http.response.body", "body": reply.body})


class HttpApp:
    """The ASGI application; ``server`` is the Server whose models, state and limits it serves."""

    def __init__(self, server):
        self.server = server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            reply = await self.dispatch(method, path, headers, scope.get("query_string", b"").decode(), receive)
        except ProtocolError as exc:
            reply = Reply.error(exc)
        except Exception as exc:  # a bug of ours: answered, logged, and the server keeps serving
            logging.getLogger("visionrt.serve").exception("internal error on %s %s", method, path)
            reply = Reply.json({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)
        await respond(send, reply)
        access_log.info('%s "%s %s" %d %d %.2fms', scope.get("client", ("-",))[0], method, path, reply.status,
                        len(reply.body), (time.perf_counter() - started) * 1e3)

    async def dispatch(self, method, path, headers, query, receive) -> Reply:
        for want, pattern, name in COMPILED:
            match = pattern.match(path)
            if match and want == method:
                params = match.groupdict()
                if name in ("infer", "task", "repository_index"):
                    params["body"] = await self.read_body(headers, receive)
                if name in ("infer", "task"):
                    params["headers"] = headers
                if name == "task":
                    params["query"] = parse_qs(query)
                return await getattr(self, name)(**{k: v for k, v in params.items() if v is not None})
            if match:
                raise MethodNotAllowed(f"{path} takes {want}, not {method}")
        raise NotFound(f"no route {method} {path}; the v2 routes are under /v2 (e.g. GET /v2/models/<name>)")

    async def read_body(self, headers: dict, receive) -> bytes:
        limit = self.server.options.max_request_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"the request body is {int(declared):,} bytes, over the server's limit of {limit:,} bytes "
                                  "(visionrt serve --max-request-bytes)")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequest("the client closed the connection before the body arrived")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the request body passed the server's limit of {limit:,} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                return decoded(b"".join(chunks), headers.get("content-encoding", "").strip().lower(), limit)

    async def live(self) -> Reply:
        return Reply(200 if self.server.live else 400)

    async def ready(self) -> Reply:
        return Reply(200 if self.server.ready else 400)

    async def server_metadata(self) -> Reply:
        return Reply.json(self.server.metadata())

    async def model_metadata(self, model, version="") -> Reply:
        return Reply.json(find(self.server.models, model, version).metadata())

    async def model_ready(self, model, version="") -> Reply:
        """400 (not ready) for a model or version this server does not have, as Triton answers."""
        try:
            ready = find(self.server.models, model, version).ready and self.server.ready
        except NotFound:
            ready = False
        return Reply(200 if ready else 400)

    async def model_config(self, model, version="") -> Reply:
        return Reply.json(config_to_dict(find(self.server.models, model, version).config))

    async def statistics(self, model=None, version="") -> Reply:
        return Reply.json(statistics_of(self.server.models, model, version))

    async def repository_index(self, body=b"") -> Reply:
        try:
            ready_only = bool(json.loads(body or b"{}").get("ready", False))
        except (ValueError, AttributeError):
            raise BadRequest("the repository index request must be a JSON object, e.g. {\"ready\": true}") from None
        return Reply.json([m for m in index(self.server.models) if m["state"] == "READY" or not ready_only])

    async def infer(self, model, body, headers, version="") -> Reply:
        """Decoding and encoding run off the event loop: a large JSON body takes seconds to parse, and health
        checks and other requests must not wait on it."""
        self.server.accepting()
        entry = find(self.server.models, model, version)
        request = await asyncio.to_thread(parse_infer, model, body, headers.get("inference-header-content-length"),
                                          entry.datatypes)
        results = await self.server.infer(entry, request)
        return await asyncio.to_thread(infer_reply, request, entry, results)

    async def task(self, model, task, body, headers, query) -> Reply:
        self.server.accepting()
        entry = find(self.server.models, model)
        run = tasks.endpoint(entry, task)
        image = await asyncio.to_thread(tasks.uploaded_image, body, headers.get("content-type", ""))
        if entry.task_pending >= entry.policy.max_queue:
            raise Unavailable(f"{entry.task_pending} task requests are already waiting for '{model}' (the limit); "
                              "retry shortly", retry_after=1)
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(entry.task_executor, run, entry.model, image, {k: v[-1] for k, v in query.items()})
        entry.task_pending += 1
        self.server.in_flight += 1
        job.add_done_callback(lambda _: setattr(entry, "task_pending", entry.task_pending - 1))  # counted until it ends
        try:
            content_type, answer = await asyncio.wait_for(asyncio.shield(job), self.server.options.request_timeout_s)
        except asyncio.TimeoutError:
            raise Timeout(f"'{model}' {task} took over {self.server.options.request_timeout_s:g} s") from None
        finally:
            self.server.in_flight -= 1
        self.server.answered += 1
        if content_type == "application/json":
            return Reply.json(answer)
        return Reply(200, answer, content_type)


class PayloadTooLarge(ProtocolError):
    http_status, grpc_code = 413, "RESOURCE_EXHAUSTED"


class UnsupportedEncoding(ProtocolError):
    http_status = 501


class MethodNotAllowed(ProtocolError):
    http_status = 405


class MetricsApp:
    """The metrics port's ASGI application: ``GET /metrics``, Prometheus text."""

    def __init__(self, server):
        self.server = server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"].rstrip("/") != "/metrics":
            await respond(send, Reply(404, b"metrics are at /metrics\n", "text/plain"))
            return
        text = prometheus_text([m.statistics for m in self.server.models.values()])
        await respond(send, Reply(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8"))
