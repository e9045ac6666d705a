"""What each served model has done, kept once and read two ways: Triton's statistics extension
(``v2/models/{m}/stats``) and the Prometheus text the metrics port serves.

Metric names and labels are Triton's (``nv_inference_request_success``, ``nv_inference_request_failure`` by
``reason``, ``nv_inference_count``, ``nv_inference_exec_count``, the ``*_duration_us`` counters,
``nv_inference_pending_request_count``), exactly, so a dashboard built for Triton reads a visionrt server
unchanged: the text is written here rather than by prometheus-client, which renames every counter
``*_total``. The batch-size histogram is visionrt's own. Everything is recorded on the server's event loop
thread, so plain integers suffice.
"""

import time
from collections import defaultdict

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
COUNTERS = {  # metric -> (help, how it is read off a ModelStatistics)
    "nv_inference_request_success": ("Number of successful inference requests", lambda s: s.totals["success"][0]),
    "nv_inference_count": ("Number of inferences performed (a batch of 8 counts 8)", lambda s: s.inference_count),
    "nv_inference_exec_count": ("Number of model executions (batches run)", lambda s: s.execution_count),
    "nv_inference_request_duration_us": ("Cumulative inference request duration in microseconds",
                                         lambda s: s.totals["success"][1] // 1000),
    "nv_inference_queue_duration_us": ("Cumulative inference queuing duration in microseconds",
                                       lambda s: s.totals["queue"][1] // 1000),
    "nv_inference_compute_input_duration_us": ("Cumulative compute input duration in microseconds (in the "
                                               "engine's run here: 0)", lambda s: 0),
    "nv_inference_compute_infer_duration_us": ("Cumulative compute inference duration in microseconds",
                                               lambda s: s.totals["compute_infer"][1] // 1000),
    "nv_inference_compute_output_duration_us": ("Cumulative compute output duration in microseconds (in the "
                                                "engine's run here: 0)", lambda s: 0),
}
FAILURE_REASONS = ("REJECTED", "CANCELED", "BACKEND", "OTHER")  # Triton writes every one, zero or not


class ModelStatistics:
    def __init__(self, name: str, version: str):
        self.name, self.version = name, version
        self.totals = defaultdict(lambda: [0, 0])  # "success", "fail", "queue", "compute_infer" -> [count, ns]
        self.failures = defaultdict(int)  # Triton's reason: REJECTED, CANCELED, BACKEND, OTHER
        self.batches = defaultdict(lambda: [0, 0])  # batch size -> [executions, compute ns]
        self.inference_count = self.execution_count = self.last_inference_ms = self.pending = 0

    def _add(self, key: str, ns: int) -> None:
        total = self.totals[key]
        total[0] += 1
        total[1] += ns

    def record_request(self, ns: int, reason: str | None = None) -> None:
        """One request answered ``ns`` after it arrived: a success, or a failure for ``reason``."""
        self._add("fail" if reason else "success", ns)
        if reason:
            self.failures[reason] += 1

    def record_queue(self, queue_ns: int, compute_ns: int) -> None:
        self._add("queue", queue_ns)
        self._add("compute_infer", compute_ns)

    def record_batch(self, items: int, compute_ns: int) -> None:
        entry = self.batches[items]
        entry[0] += 1
        entry[1] += compute_ns
        self.inference_count += items
        self.execution_count += 1
        self.last_inference_ms = int(time.time() * 1000)

    def to_dict(self) -> dict:
        """Triton's ModelStatistics, as its HTTP endpoint writes it (gRPC parses the same into its message)."""
        def duration(key):
            count, ns = self.totals.get(key, (0, 0))
            return {"count": count, "ns": ns}

        zero = {"count": 0, "ns": 0}
        # Input and output copies are part of the engine's run here, so their times are 0; their counts must
        # still equal compute_infer's, or perf_analyzer stops ("compute counts must be the same").
        computed = {"count": duration("compute_infer")["count"], "ns": 0}
        return {"name": self.name, "version": self.version, "last_inference": self.last_inference_ms,
                "inference_count": self.inference_count, "execution_count": self.execution_count,
                "inference_stats": {"success": duration("success"), "fail": duration("fail"), "queue": duration("queue"),
                                    "compute_input": computed, "compute_infer": duration("compute_infer"),
                                    "compute_output": computed, "cache_hit": zero, "cache_miss": zero},
                "response_stats": {}, "memory_usage": [],
                "batch_stats": [{"batch_size": size, "compute_input": {"count": count, "ns": 0},
                                 "compute_infer": {"count": count, "ns": ns}, "compute_output": {"count": count, "ns": 0}}
                                for size, (count, ns) in sorted(self.batches.items())]}


def prometheus_text(statistics: list[ModelStatistics]) -> str:
    """The Prometheus text exposition (format 0.0.4) of every model's figures."""
    lines = []

    def family(name, kind, help_text, samples):
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])
        lines.extend(f"{sample}{{{labels}}} {value}" for sample, labels, value in samples)

    def labels(s, **more):
        pairs = {"model": s.name, "version": s.version, **more}
        return ",".join(f'{key}="{value}"' for key, value in pairs.items())

    for name, (help_text, read) in COUNTERS.items():
        family(name, "counter", help_text, [(name, labels(s), read(s)) for s in statistics])
    family("nv_inference_request_failure", "counter", "Number of failed inference requests, by reason",
           [("nv_inference_request_failure", labels(s, reason=reason), s.failures.get(reason, 0))
            for s in statistics for reason in FAILURE_REASONS])
    family("nv_inference_pending_request_count", "gauge", "Requests waiting in the queue or running",
           [("nv_inference_pending_request_count", labels(s), s.pending) for s in statistics])
    samples = []
    for s in statistics:
        sizes = {size: count for size, (count, _) in s.batches.items()}
        for bound in BATCH_BUCKETS:
            samples.append(("visionrt_batch_size_bucket", labels(s, le=str(bound)),
                            sum(c for size, c in sizes.items() if size <= bound)))
        samples += [("visionrt_batch_size_bucket", labels(s, le="+Inf"), sum(sizes.values())),
                    ("visionrt_batch_size_sum", labels(s), sum(size * c for size, c in sizes.items())),
                    ("visionrt_batch_size_count", labels(s), sum(sizes.values()))]
    family("visionrt_batch_size", "histogram", "Items per model execution", samples)
    return "\n".join(lines) + "\n"

