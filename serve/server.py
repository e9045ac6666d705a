"""One server process: the models, the HTTP, gRPC and metrics listeners on one asyncio loop, and the
lifecycle a production service needs.

Listeners open first and answer liveness at once; readiness turns true only after every model is loaded and
warmed (models load on a worker thread, so health checks are answered meanwhile). ``stop`` (SIGTERM or
SIGINT) turns readiness off and refuses new requests as Unavailable, lets every accepted request finish and
reply, then closes the listeners; the process exits 0.
"""

import asyncio
import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import visionrt
from visionrt.errors import VisionRTError
from visionrt.serve.models import ModelChoice, ServedModel, load_models
from visionrt.serve.protocol import Request, Timeout, Unavailable

EXTENSIONS = ["classification", "model_repository", "model_configuration", "binary_tensor_data", "statistics",
              "visionrt_tasks"]


@dataclass(frozen=True)
class ServeOptions:
    repository: Path | None = None  # None: the zoo in use (model_zoo.repository_path())
    models: tuple[str, ...] = ()  # () : every model of the repository
    host: str = "127.0.0.1"
    http_port: int = 8000  # Triton's defaults; 0 picks a free port
    grpc_port: int = 8001
    metrics_port: int = 8002
    choice: ModelChoice = field(default_factory=ModelChoice)
    max_request_bytes: int = 64 << 20
    request_timeout_s: float = 60.0
    max_image_pixels: int = 1 << 25  # task routes refuse larger uploads from their header: 33.5 megapixels
    max_connections: int = 1024  # open HTTP connections; past it uvicorn answers 503
    drain_timeout_s: float = 30.0


@dataclass(frozen=True)
class Endpoints:
    http: str  # "127.0.0.1:8000", as tritonclient takes it
    grpc: str
    metrics: str


class PortInUse(VisionRTError, OSError):
    """A listener could not bind; the message names the address and the flag that moves it."""


def bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without, a reply's head and body (two writes) meet Nagle's algorithm
    # and the client's delayed ACK, and every HTTP request waited ~44 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server running? pick a "
                        "port with --http-port / --grpc-port / --metrics-port)") from None
    return sock


def uvicorn_server(app, sock: socket.socket, max_connections: int = 1024):
    import uvicorn

    class Quiet(uvicorn.Server):
        def capture_signals(self):  # the Server owns the signals, so a drain runs before the listeners close
            return contextlib.nullcontext()

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30,
                            timeout_graceful_shutdown=5, limit_concurrency=max_connections)
    return Quiet(config)


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where it is installed (uvicorn[standard] brings it): digits over HTTP measured
    10-20% more requests a second on it than on asyncio's own (2-core EPYC); gRPC the same on both."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Server:
    def __init__(self, options: ServeOptions = ServeOptions(), progress=print):
        self.options, self.progress = options, progress
        self.models: dict[str, ServedModel] = {}
        self.live, self.ready, self.draining = True, False, False
        self.in_flight = self.answered = 0  # answered: infer and task requests that got their answer
        self.endpoints: Endpoints | None = None
        self.ready_seconds: float | None = None
        self._stop = None
        self._tasks, self._grpc = [], None

    def metadata(self) -> dict:
        return {"name": "visionrt", "version": visionrt.__version__, "extensions": EXTENSIONS}

    async def infer(self, entry: ServedModel, request: Request):
        """``entry``'s outputs for ``request``, within the request timeout; the request counted either way."""
        self.accepting()
        feeds = entry.check(request)  # a request refused here is not the model's failure (as Triton counts)
        started = time.perf_counter_ns()
        self.in_flight += 1
        try:
            results = await asyncio.wait_for(entry.infer(request, feeds), self.options.request_timeout_s)
        except asyncio.TimeoutError:
            entry.statistics.record_request(time.perf_counter_ns() - started, "CANCELED")
            raise Timeout(f"model '{entry.name}' did not answer within {self.options.request_timeout_s:g} s") from None
        except Exception as exc:
            entry.statistics.record_request(time.perf_counter_ns() - started, getattr(exc, "reason", "OTHER"))
            raise
        finally:
            self.in_flight -= 1
        entry.statistics.record_request(time.perf_counter_ns() - started)
        self.answered += 1
        return results

    def accepting(self) -> None:
        """Unavailable unless the server takes new work: not while loading, not while draining."""
        if self.draining or not self.ready:
            raise Unavailable("the server is " + ("shutting down" if self.draining else "still loading models"),
                              retry_after=5 if self.draining else 1)

    async def start(self) -> Endpoints:
        """Open the listeners, then load and warm every model; returns once the server is ready."""
        from visionrt.serve.grpc_service import make_server
        from visionrt.serve.http_app import HttpApp, MetricsApp

        started = time.perf_counter()
        self._stop = self._stop or asyncio.Event()
        options = self.options
        http_sock = bound_socket(options.host, options.http_port)
        try:
            metrics_sock = bound_socket(options.host, options.metrics_port)
        except OSError:
            http_sock.close()
            raise
        try:
            self._grpc, grpc_port = make_server(self, options.host, options.grpc_port, options.max_request_bytes)
        except OSError:
            http_sock.close(), metrics_sock.close()
            raise
        host = f"[{options.host}]" if ":" in options.host else options.host
        self._http = [uvicorn_server(HttpApp(self), http_sock, options.max_connections),
                      uvicorn_server(MetricsApp(self), metrics_sock)]
        self._tasks = [asyncio.create_task(server.serve(sockets=[sock]))
                       for server, sock in zip(self._http, (http_sock, metrics_sock))]
        await self._grpc.start()
        while not all(server.started for server in self._http):  # listening, before anyone is told the address
            if any(task.done() for task in self._tasks):
                await asyncio.gather(*self._tasks)
                raise OSError(f"the HTTP listener on {options.host} stopped while starting")
            await asyncio.sleep(0.005)
        self.endpoints = Endpoints(f"{host}:{http_sock.getsockname()[1]}", f"{host}:{grpc_port}",
                                   f"{host}:{metrics_sock.getsockname()[1]}")
        self.progress(f"visionrt serve: HTTP {self.endpoints.http}, gRPC {self.endpoints.grpc}, metrics "
                      f"{self.endpoints.metrics}/metrics (live; loading models)")
        loop = asyncio.get_running_loop()
        self.models = await loop.run_in_executor(None, lambda: load_models(
            options.repository, list(options.models) or None, options.choice, self.progress))
        for entry in self.models.values():
            entry.model.max_pixels = options.max_image_pixels
            entry.start()
        self.ready_seconds = time.perf_counter() - started
        self.ready = True
        self.progress(f"visionrt serve: ready in {self.ready_seconds:.1f} s with {len(self.models)} model(s)")
        return self.endpoints

    def request_stop(self) -> None:
        """The first signal drains; a second, while draining, ends the process at once (exit 1)."""
        if self._stop is None:
            return
        if self._stop.is_set() and threading.current_thread() is threading.main_thread():
            self.progress("visionrt serve: second signal while stopping; exiting without finishing")
            os._exit(1)
        self._stop.set()

    async def stop(self) -> None:
        """Refuse new work, finish what was accepted, close the listeners."""
        self.ready, self.draining = False, True
        deadline = time.monotonic() + self.options.drain_timeout_s
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        closing = [entry.batcher.close() for entry in self.models.values() if entry.batcher is not None]
        try:  # what is still queued runs, within what is left of the drain's time
            await asyncio.wait_for(asyncio.gather(*closing), max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            self.progress("visionrt serve: the drain timed out; stopping with requests unfinished")
        for entry in self.models.values():
            entry.executor.shutdown(wait=False)
            entry.task_executor.shutdown(wait=False)
        if self._grpc is not None:
            await self._grpc.stop(grace=1.0)
        for server in getattr(self, "_http", []):
            server.should_exit = True
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.live = False

    async def serve_forever(self, signals: bool = True) -> None:
        import signal

        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self._stop.wait()
            self.progress(f"visionrt serve: stopping; finishing {self.in_flight} request(s) in flight")
        finally:
            await self.stop()
        self.progress(f"visionrt serve: stopped after answering {self.answered} request(s)")

    @contextlib.contextmanager
    def running(self):
        """Serve from a background thread (tests, benchmarks): yields the Endpoints once ready, stops on exit."""
        loop = new_loop()
        ready, failure = threading.Event(), []

        async def main():
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                await self.stop()
                return
            ready.set()
            await self._stop.wait()
            await self.stop()

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), name="visionrt-serve", daemon=True)
        thread.start()
        ready.wait()
        try:
            if failure:
                raise failure[0]
            yield self.endpoints
        finally:
            loop.call_soon_threadsafe(self.request_stop)
            thread.join(timeout=60)
            loop.close()
