"""``visionrt serve``: the model repository behind Triton's protocol (KServe v2 over HTTP and gRPC), with
Triton's dynamic batching, statistics and metrics, and task routes that take an image file.

    >>> from visionrt.serve import Server, ServeOptions
    >>> with Server(ServeOptions(models=("digits",), http_port=0, grpc_port=0, metrics_port=0)).running() as at:
    ...     tritonclient.http.InferenceServerClient(at.http).is_server_ready()

Needs the ``serve`` extra (uvicorn, grpcio with Triton's protos from tritonclient); torch-free.

Lives in ``serve/``, installed as ``visionrt.serve`` (pyproject.toml maps each root folder into the one namespace).
"""

import os

from visionrt.extras import require

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's informational lines (a fork noticed) are not the user's business

for _module in ("uvicorn", "grpc", "tritonclient.grpc"):
    require(_module, "serve")

from visionrt.serve.models import ModelChoice  # noqa: E402
from visionrt.serve.server import Endpoints, ServeOptions, Server  # noqa: E402

__all__ = ["Server", "ServeOptions", "ModelChoice", "Endpoints"]
