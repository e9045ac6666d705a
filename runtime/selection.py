"""Choosing a backend target and a precision, with the reasons recorded, never silently."""

from visionrt.errors import BackendUnavailableError, UserInputError
from visionrt.runtime.backends import Target, backend_classes

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
EXECUTION_ONLY = {"bf16": "fp32"}  # precisions an engine computes at from another precision's file


def available_backends() -> list[Target]:
    """Every backend target this installation knows, fastest first, each with why it is (not) usable."""
    targets = [t for cls in backend_classes().values() for t in cls.targets()]
    return sorted(targets, key=lambda t: t.speed_rank)


def choose_target(requested: str, targets: list[Target]) -> tuple[Target, str]:
    """``auto``, a backend name (its fastest device), or ``backend:device``."""
    if requested == "auto":
        candidates = targets
    else:
        backend, _, device = requested.partition(":")
        candidates = [t for t in targets if t.backend == backend and (not device or t.device == device)]
        if not candidates:
            names = ", ".join(["auto", *sorted({t.backend for t in targets}), *(t.name for t in targets)])
            raise UserInputError(f"unknown backend '{requested}'; choose one of: {names}")
    usable = [t for t in candidates if t.available]
    if not usable:
        why = "; ".join(f"{t.name}: {t.reason}" for t in candidates)
        raise BackendUnavailableError(f"backend '{requested}' is not available here: {why}")
    chosen = min(usable, key=lambda t: t.speed_rank)
    skipped = [f"{t.name} unavailable ({t.reason})" for t in candidates if not t.available and t.speed_rank < chosen.speed_rank]
    reason = f"backend {chosen.name}: " + ("fastest available" if requested != chosen.name else "as requested")
    return chosen, reason + (f"; faster ones missing: {'; '.join(skipped)}" if skipped else "")


def choose_precision(requested: str, target: Target, have: list[str]) -> tuple[str, str]:
    """``auto`` means FP16 on a GPU and FP32 on a CPU; an explicit precision must exist in the artifact."""
    if requested not in PRECISIONS:
        raise UserInputError(f"precision must be one of {PRECISIONS}, got '{requested}'")
    if requested == "int8" and target.on_gpu and target.backend != "tensorrt":
        raise UserInputError(f"precision int8 is for CPU targets and native TensorRT (the INT8 file is QDQ, for ONNX "
                             f"Runtime's and OpenVINO's CPU kernels and TensorRT's explicit quantization), and "
                             f"{target.name} was chosen")
    if requested in EXECUTION_ONLY:
        source = EXECUTION_ONLY[requested]
        if target.backend != "openvino":
            raise UserInputError(f"precision {requested} is computed by OpenVINO's CPU plugin from the {source} file; "
                                 f"{target.name} was chosen: pass backend='openvino'")
        if source not in have:
            raise UserInputError(f"precision {requested} runs the {source} file, and this model has only {', '.join(have)}")
        return requested, f"precision {requested}: as requested, computed by OpenVINO from the {source} file"
    if requested != "auto":
        if requested not in have:
            raise UserInputError(f"precision {requested} was requested but this model has only {', '.join(have)}")
        note = "; FP16 on a CPU runs through Cast nodes and is usually slower than FP32" \
            if requested == "fp16" and not target.on_gpu else ""
        return requested, f"precision {requested}: as requested{note}"
    preferred = "fp16" if target.on_gpu else "fp32"
    if preferred in have:
        return preferred, f"precision {preferred}: auto picks FP16 on a GPU and FP32 on a CPU ({target.device})"
    fallback = have[0]
    return fallback, f"precision {fallback}: auto would pick {preferred} on {target.device}, but this model has only {fallback}"

