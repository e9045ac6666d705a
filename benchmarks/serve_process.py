"""A ``visionrt serve`` subprocess for the serving benchmark: started on free ports, awaited until ready,
stopped with SIGTERM and its exit status checked.

The server runs in its own process because a client and a server sharing one interpreter share one GIL:
each would slow the other down and the figures would describe neither.
"""

import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from visionrt.errors import VisionRTError

FIRST_LINE = re.compile(r"HTTP (?P<http>\S+), gRPC (?P<grpc>\S+), metrics (?P<metrics>\S+?)/metrics")


class ServerStartError(VisionRTError):
    """``visionrt serve`` exited, or did not say it was ready, in time; the message carries its last words."""


@dataclass(frozen=True)
class ServerEndpoints:
    http: str  # "127.0.0.1:39729", as tritonclient takes it
    grpc: str
    metrics: str


def parse_endpoints(line: str) -> ServerEndpoints:
    """The ports from the server's first line (``visionrt serve: HTTP 127.0.0.1:39729, gRPC ..., metrics ...``)."""
    found = FIRST_LINE.search(line)
    if found is None:
        raise ServerStartError(f"expected 'visionrt serve: HTTP <host:port>, gRPC <host:port>, metrics "
                               f"<host:port>/metrics ...' as the server's first line, got {line!r}")
    return ServerEndpoints(found["http"], found["grpc"], found["metrics"])


class ServerProcess:
    """``visionrt serve --model MODEL`` on ports the OS picks; a context manager that stops it on exit."""

    def __init__(self, model: str, batching: bool, ready_timeout_s: float = 120.0, stop_timeout_s: float = 30.0):
        self.model, self.batching = model, batching
        self.ready_timeout_s, self.stop_timeout_s = ready_timeout_s, stop_timeout_s
        self.endpoints: ServerEndpoints | None = None
        self.exit_code: int | None = None
        self.killed = False  # True: it did not stop within stop_timeout_s of SIGTERM
        self.lines: queue.Queue = queue.Queue()

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "visionrt.cli", "serve", "--model", self.model, "--http-port", "0",
                   "--grpc-port", "0", "--metrics-port", "0", "--quiet"]
        return command + ([] if self.batching else ["--no-dynamic-batching"])

    def __enter__(self) -> "ServerProcess":
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        threading.Thread(target=self._read_stdout, daemon=True).start()  # drained throughout: a full pipe blocks it
        try:
            deadline = time.monotonic() + self.ready_timeout_s
            self.endpoints = parse_endpoints(self._next_line(deadline))
            while not self._next_line(deadline).startswith("visionrt serve: ready"):
                pass
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # end of output: the process has exited or closed stdout

    def _next_line(self, deadline: float) -> str:
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise ServerStartError(f"{self.describe()} did not say it was ready within {self.ready_timeout_s:.0f} s"
                                   f"{self._stderr_tail()}") from None
        if line is None:
            raise ServerStartError(f"{self.describe()} exited with status {self.process.wait()} before it was "
                                   f"ready{self._stderr_tail()}")
        return line

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        tail = self.stderr.read()[-2000:].strip()
        return f"; its stderr ends:\n{tail}" if tail else ""

    def describe(self) -> str:
        return f"`{' '.join(self.command()[1:])}`"

    def stop(self) -> int:
        """SIGTERM (the server drains, then exits 0); SIGKILL if it has not exited within stop_timeout_s."""
        if self.exit_code is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.process.kill()
                self.exit_code = self.process.wait()
            self.stderr.close()
        return self.exit_code

    def record(self) -> dict:
        """What the report says about this server: how it was started and how it ended."""
        return {"batching": self.batching, "command": self.command()[1:], "exit_code": self.exit_code,
                "killed_after_sigterm": self.killed,
                "endpoints": None if self.endpoints is None else vars(self.endpoints)}
