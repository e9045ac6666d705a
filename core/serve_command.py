"""``visionrt serve``'s arguments and handler; the server itself (``visionrt.serve``) needs the ``serve`` extra
and is imported only when the command runs."""

import argparse
import logging
import sys
from pathlib import Path


def add_serve(sub) -> None:
    parser = sub.add_parser("serve", help="serve the model repository over Triton's protocol (KServe v2, HTTP and gRPC)",
                            description="Serve every model of the repository (or those named) through the runtime on "
                                        "KServe v2 / Triton's HTTP and gRPC protocol, with dynamic batching as each "
                                        "config.pbtxt sets it, Prometheus metrics, and task routes that take an image "
                                        "file (POST /v2/models/<m>/classify, ...). Bound to 127.0.0.1 unless --host "
                                        "says otherwise. SIGTERM or Ctrl-C finishes accepted requests, then exits 0.")
    parser.add_argument("--repository", type=Path, help="model repository folder (default: the zoo in use)")
    parser.add_argument("--model", action="append", dest="models", metavar="NAME",
                        help="serve only this model (repeatable; default: every model of the repository)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--http-port", type=int, default=8000, help="HTTP/REST port (default 8000; 0: a free one)")
    parser.add_argument("--grpc-port", type=int, default=8001, help="gRPC port (default 8001)")
    parser.add_argument("--metrics-port", type=int, default=8002, help="Prometheus metrics port (default 8002)")
    parser.add_argument("--backend", action="append", metavar="[MODEL=]BACKEND",
                        help="as for visionrt run, for every model or, as MODEL=BACKEND, for one (repeatable; "
                             "default auto)")
    parser.add_argument("--precision", action="append", metavar="[MODEL=]PRECISION",
                        help="auto, fp32, fp16, bf16 or int8, for every model or, as MODEL=PRECISION, for one "
                             "(repeatable; default auto)")
    parser.add_argument("--no-dynamic-batching", action="store_true",
                        help="run every request alone, whatever config.pbtxt says")
    parser.add_argument("--instances", type=int, help="model instances (workers) per model (default: config.pbtxt's "
                        "instance_group, else 1)")
    parser.add_argument("--max-queue", type=int, default=1024, help="queued requests per model before new ones are "
                        "refused as unavailable (default 1024)")
    parser.add_argument("--max-request-bytes", type=int, default=64 << 20, help="largest request body (default 64 MiB)")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="seconds a request may take (default 60)")
    parser.add_argument("--max-image-pixels", type=int, default=1 << 25, help="task routes refuse larger images, "
                        "from the file's header (default 33554432)")
    parser.add_argument("--max-connections", type=int, default=1024, help="open HTTP connections before new ones "
                        "get 503 (default 1024)")
    parser.add_argument("--quiet", action="store_true", help="no access log line per request")
    parser.set_defaults(handler=cmd_serve)


def split_settings(values: list[str] | None, flag: str, allowed: tuple[str, ...] | None = None) -> tuple[str, dict]:
    """(the setting for every model, {model: its own}) from ``VALUE`` and ``MODEL=VALUE`` entries."""
    from visionrt.errors import UserInputError

    default, own = "auto", {}
    for value in values or ():
        name, _, setting = value.rpartition("=")
        if allowed is not None and setting not in allowed:
            raise UserInputError(f"{flag} {value}: {setting!r} is not one of {', '.join(allowed)}")
        if name:
            own[name] = setting
        else:
            default = setting
    return default, own


def options_from(args: argparse.Namespace):
    from visionrt.errors import UserInputError
    from visionrt.runtime.selection import PRECISIONS
    from visionrt.serve import ModelChoice, ServeOptions

    for name in ("instances", "max_queue", "max_request_bytes", "max_image_pixels", "max_connections"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserInputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.request_timeout <= 0:
        raise UserInputError(f"--request-timeout must be positive, got {args.request_timeout}")
    backend, backends = split_settings(args.backend, "--backend")
    precision, precisions = split_settings(args.precision, "--precision", PRECISIONS)
    choice = ModelChoice(backend=backend, precision=precision, backends=backends, precisions=precisions,
                         dynamic_batching=not args.no_dynamic_batching, instances=args.instances, max_queue=args.max_queue)
    return ServeOptions(repository=args.repository, models=tuple(args.models or ()), host=args.host,
                        http_port=args.http_port, grpc_port=args.grpc_port, metrics_port=args.metrics_port,
                        choice=choice, max_request_bytes=args.max_request_bytes, request_timeout_s=args.request_timeout,
                        max_image_pixels=args.max_image_pixels, max_connections=args.max_connections)


def cmd_serve(args) -> int:
    from visionrt.serve import Server
    from visionrt.serve.server import new_loop

    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("visionrt.serve.access").setLevel(logging.WARNING if args.quiet else logging.INFO)
    server = Server(options_from(args), progress=lambda line: print(line, flush=True))
    loop = new_loop()
    try:
        loop.run_until_complete(server.serve_forever())
    finally:
        loop.close()
    return 0
