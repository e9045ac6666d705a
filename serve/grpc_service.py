"""The gRPC front end: Triton's ``inference.GRPCInferenceService``, from the protos Triton publishes (as
generated in ``tritonclient.grpc``), on grpc's asyncio server, sharing the HTTP front end's event loop,
models and batchers. Shared-memory, model load/unload, trace and log settings are not offered: their
methods answer UNIMPLEMENTED, as the generated base class does.
"""

import logging
import time

import grpc
import numpy as np
from google.protobuf import json_format
from tritonclient.grpc import service_pb2, service_pb2_grpc

from visionrt.serve.models import find, index, statistics_of
from visionrt.serve.protocol import BadRequest, ProtocolError, Request, access_log, datatype_of, from_raw, numpy_dtype, to_raw

CONTENTS_FIELD = {"BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
                  "INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents",
                  "UINT32": "uint_contents", "UINT64": "uint64_contents", "FP32": "fp32_contents",
                  "FP64": "fp64_contents", "BYTES": "bytes_contents"}


def decode_request(request) -> Request:
    """A ModelInferRequest as numpy: raw_input_contents (what tritonclient sends) or typed contents."""
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise BadRequest(f"{len(raw)} raw_input_contents for {len(request.inputs)} inputs; give one per input")
    inputs = {}
    for position, tensor in enumerate(request.inputs):
        where = f"input '{tensor.name}'"
        if tensor.name in inputs:
            raise BadRequest(f"{where} is given twice")
        shape = list(tensor.shape)
        if raw:
            if tensor.HasField("contents"):
                raise BadRequest(f"{where}: contents must not be given beside raw_input_contents")
            inputs[tensor.name] = from_raw(raw[position], tensor.datatype, shape, where)
            continue
        field = CONTENTS_FIELD.get(tensor.datatype)
        if field is None:
            raise BadRequest(f"{where}: datatype {tensor.datatype!r} cannot be sent as typed contents; use raw_input_contents")
        values = list(getattr(tensor.contents, field))
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if len(values) != count:
            raise BadRequest(f"{where}: {len(values)} values in contents.{field} for shape {shape}, which needs {count}")
        inputs[tensor.name] = np.array(values, dtype=numpy_dtype(tensor.datatype, where)).reshape(shape)
    classification = {o.name: o.parameters["classification"].int64_param for o in request.outputs
                      if "classification" in o.parameters}
    return Request(request.model_name, inputs, id=request.id, outputs=[o.name for o in request.outputs],
                   classification=classification)


def encode_response(entry, request_id: str, results: dict[str, np.ndarray]):
    response = service_pb2.ModelInferResponse(model_name=entry.name, model_version=entry.version, id=request_id)
    for name, value in results.items():
        response.outputs.add(name=name, datatype=datatype_of(value.dtype), shape=list(value.shape))
        response.raw_output_contents.append(to_raw(value))
    return response


class InferenceService(service_pb2_grpc.GRPCInferenceServiceServicer):
    def __init__(self, server):
        self.server = server

    async def guarded(self, context, method: str, answer):
        """``answer()``'s message, or the request aborted with the status its ProtocolError names."""
        started = time.perf_counter()
        code = "OK"
        try:
            return await answer()
        except ProtocolError as exc:
            code = exc.grpc_code
            await context.abort(getattr(grpc.StatusCode, code), str(exc))
        except Exception as exc:  # a bug of ours: INTERNAL, logged, and the server keeps serving
            if isinstance(exc, grpc.aio.AbortError):
                raise
            code = "INTERNAL"
            logging.getLogger("visionrt.serve").exception("internal error in gRPC %s", method)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            if access_log.isEnabledFor(logging.INFO):  # the peer's address is a call into gRPC: only when logged
                access_log.info('%s "grpc %s" %s %.2fms', context.peer(), method, code,
                                (time.perf_counter() - started) * 1e3)

    async def ServerLive(self, request, context):
        return service_pb2.ServerLiveResponse(live=self.server.live)

    async def ServerReady(self, request, context):
        return service_pb2.ServerReadyResponse(ready=self.server.ready)

    async def ModelReady(self, request, context):
        """Not ready, rather than NOT_FOUND, for a model this server does not have: Triton's answer."""
        try:
            entry = find(self.server.models, request.name, request.version)
        except ProtocolError:
            return service_pb2.ModelReadyResponse(ready=False)
        return service_pb2.ModelReadyResponse(ready=entry.ready and self.server.ready)

    async def ServerMetadata(self, request, context):
        return json_format.ParseDict(self.server.metadata(), service_pb2.ServerMetadataResponse())

    async def ModelMetadata(self, request, context):
        async def answer():
            meta = find(self.server.models, request.name, request.version).metadata()
            return json_format.ParseDict(meta, service_pb2.ModelMetadataResponse())
        return await self.guarded(context, "ModelMetadata", answer)

    async def ModelConfig(self, request, context):
        async def answer():
            return service_pb2.ModelConfigResponse(config=find(self.server.models, request.name, request.version).config)
        return await self.guarded(context, "ModelConfig", answer)

    async def ModelStatistics(self, request, context):
        async def answer():
            found = statistics_of(self.server.models, request.name or None, request.version)
            return json_format.ParseDict(found, service_pb2.ModelStatisticsResponse())
        return await self.guarded(context, "ModelStatistics", answer)

    async def RepositoryIndex(self, request, context):
        models = [m for m in index(self.server.models) if m["state"] == "READY" or not request.ready]
        return json_format.ParseDict({"models": models}, service_pb2.RepositoryIndexResponse())

    async def infer_one(self, request):
        self.server.accepting()
        entry = find(self.server.models, request.model_name, request.model_version)
        decoded = decode_request(request)
        return encode_response(entry, request.id, await self.server.infer(entry, decoded))

    async def ModelInfer(self, request, context):
        return await self.guarded(context, "ModelInfer", lambda: self.infer_one(request))

    async def ModelStreamInfer(self, request_iterator, context):
        """Each request of the stream answered in turn; an error is sent in the stream and the stream goes on."""
        async for request in request_iterator:
            try:
                yield service_pb2.ModelStreamInferResponse(infer_response=await self.infer_one(request))
            except ProtocolError as exc:
                yield service_pb2.ModelStreamInferResponse(error_message=str(exc))
            except Exception as exc:  # a bug of ours ends this response, not the stream
                logging.getLogger("visionrt.serve").exception("internal error in ModelStreamInfer")
                yield service_pb2.ModelStreamInferResponse(error_message=f"internal error: {type(exc).__name__}: {exc}")


def make_server(server, host: str, port: int, max_message_bytes: int):
    """An asyncio gRPC server bound to ``host:port`` (0: a free port); returns (grpc server, port)."""
    options = [("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", -1),
               ("grpc.so_reuseport", 0)]
    service = grpc.aio.server(options=options)
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceService(server), service)
    try:
        bound = service.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # grpcio raises where older releases returned 0
        bound = 0
    if bound == 0:
        from visionrt.serve.server import PortInUse

        raise PortInUse(f"cannot listen for gRPC on {host}:{port} (is another server running? pick a port with "
                        "--grpc-port)")
    return service, bound
