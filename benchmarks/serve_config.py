"""What a serving benchmark measures: the conditions of its sweep and its configuration. Kept apart from the
load generator so that the command line can show the real defaults without importing numpy or tritonclient."""

from dataclasses import dataclass
from pathlib import Path

IN_PROCESS, HTTP, GRPC = "in-process", "http", "grpc"


@dataclass(frozen=True)
class Condition:
    """One line of the sweep: where the requests go, and whether that server batches them."""

    mode: str  # IN_PROCESS, HTTP or GRPC
    batching: bool | None = None  # None: in-process, or a server measured as configured (--url)

    @property
    def label(self) -> str:
        if self.mode == IN_PROCESS:
            return IN_PROCESS
        setting = {True: "batching", False: "no batching", None: "as configured"}[self.batching]
        return f"{self.mode} {setting}"


@dataclass(frozen=True)
class LoadConfig:
    """One serving benchmark: the model, the sweep, and where the requests go."""

    model: str  # a zoo name: the servers are started with --model MODEL and the reference loaded by it
    concurrency: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    seconds: float = 2.0  # timed window per level and condition
    warmup_s: float = 0.5  # untimed closed loop before each window: connections open, server threads awake
    repeats: int = 2  # whole sweeps; the report gives the median over them
    protocols: tuple[str, ...] = (HTTP, GRPC)
    url: str | None = None  # HTTP host:port of a running server: measure it as configured, start none
    grpc_url: str | None = None  # its gRPC host:port (without it, --url measures HTTP only)
    one_server_at_a_time: bool = False  # for machines that should not hold two servers (less interleaved)
    seed: int = 0  # of the one random input every request sends
    rtol: float = 1e-4  # answers against the in-process output: batched kernels may differ in the last bits
    atol: float = 1e-4
    out: Path | None = None  # report folder; the command defaults it to bench-out/serve-MODEL
