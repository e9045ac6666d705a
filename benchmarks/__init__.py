"""Benchmarks that measure what they say: visionrt against eager PyTorch and the engines a user would pick
instead, on the same weights, interleaved, with the machine named beside every figure (JSON, Markdown and a
plot per run). Lives in ``benchmarks/``, installed as ``visionrt.benchmarks``."""
