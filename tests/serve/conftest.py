"""Serve tests' fixtures: one server on free loopback ports for the whole session, serving every zoo model,
and Triton's own clients pointed at it.

Set ``VISIONRT_TEST_HTTP_URL`` and ``VISIONRT_TEST_GRPC_URL`` (host:port) to run the client tests against a
server you started yourself (another visionrt, or Triton with this repository); the tests that need
visionrt's own internals skip there.
"""

import os

import pytest

try:  # the serve extra, and Triton's clients from the dev extra
    import tritonclient.grpc as tritonclient_grpc
    import tritonclient.http as tritonclient_http
    import uvicorn  # noqa: F401
except ImportError:
    collect_ignore_glob = ["test_*.py"]

from serving import MODELS, free_options  # noqa: E402
from visionrt import runtime  # noqa: E402

EXTERNAL = os.environ.get("VISIONRT_TEST_HTTP_URL"), os.environ.get("VISIONRT_TEST_GRPC_URL")


@pytest.fixture(scope="session")
def server():
    """The session's in-process server (None when the suite is pointed at an external one)."""
    if all(EXTERNAL):
        yield None
        return
    from visionrt.serve import Server

    serving = Server(free_options(), progress=lambda line: None)
    with serving.running():
        yield serving


@pytest.fixture(scope="session")
def own_words(server) -> bool:
    """Whether error messages are visionrt's, so a test may hold them to their words; another server (Triton)
    is held to the status alone."""
    return server is not None


@pytest.fixture(scope="session")
def urls(server) -> tuple[str, str]:
    return EXTERNAL if server is None else (server.endpoints.http, server.endpoints.grpc)


@pytest.fixture(scope="session")
def http(urls):
    return tritonclient_http.InferenceServerClient(urls[0], concurrency=8)


@pytest.fixture(scope="session")
def grpc(urls):
    return tritonclient_grpc.InferenceServerClient(urls[1])


@pytest.fixture(scope="session")
def local_models():
    """Each zoo model loaded in this process, as the reference the server's answers must equal."""
    return {name: runtime.load(name) for name in MODELS}

