"""Triton Inference Server ``config.pbtxt`` for a zoo model, so the zoo folder is a model repository.

Platform ``onnxruntime_onnx`` serves ``<version>/model.onnx``; the TensorRT execution accelerator with
FP16 precision is declared so that a GPU Triton runs the model through TensorRT, with the artifact's shape
range as the engine's profile: without one, ONNX Runtime's TensorRT provider builds an engine for the
shapes it has seen and builds again whenever a request falls outside them. Dynamic batching prefers the
batches that engine is built around: the profile's opt and max batch.
"""

from visionrt.runtime.backends.tensorrt import DEFAULT_WORKSPACE
from visionrt.runtime.profiles import Profile, provider_shapes

ONNX_TO_TRITON = {1: "TYPE_FP32", 10: "TYPE_FP16", 7: "TYPE_INT64", 6: "TYPE_INT32", 2: "TYPE_UINT8"}
MAX_QUEUE_DELAY_US = 100  # a closed loop of clients fills a batch within it; a lone request waits at most 0.1 ms


def tensor_entries(values) -> list[tuple[str, str, list[int]]]:
    """(name, Triton type, dims without the batch axis) for ONNX graph inputs or outputs; -1 for dynamic."""
    entries = []
    for value in values:
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim][1:]
        entries.append((value.name, ONNX_TO_TRITON[tensor.elem_type], dims))
    return entries


def _block(kind: str, entries) -> str:
    items = [
        f'  {{\n    name: "{name}"\n    data_type: {dtype}\n    dims: [ {", ".join(map(str, dims))} ]\n  }}'
        for name, dtype, dims in entries
    ]
    return f"{kind} [\n" + ",\n".join(items) + "\n]\n"


def preferred_batch_sizes(max_batch_size: int, profile: Profile | None) -> list[int]:
    """The batches the scheduler should form: the profile's opt batch (the one TensorRT tuned its kernels
    for) and its max batch, ascending and within max_batch_size; without a profile, max_batch_size alone."""
    sizes = {profile.opt[0], profile.max[0]} if profile else set()
    return sorted(size for size in sizes if size <= max_batch_size) or [max_batch_size]


def dynamic_batching(max_batch_size: int, profile: Profile | None) -> str:
    """Triton's ``dynamic_batching`` block. An empty one has a queue delay of 0, so only requests already
    queued together batch and ones that arrive microseconds apart run apart; the delay lets them meet, and a
    batch leaves without waiting once it reaches a preferred size. visionrt's server reads the same two fields."""
    sizes = ", ".join(map(str, preferred_batch_sizes(max_batch_size, profile)))
    return ("dynamic_batching {\n"
            f"  preferred_batch_size: [ {sizes} ]\n"
            f"  max_queue_delay_microseconds: {MAX_QUEUE_DELAY_US}\n"
            "}\n")


def accelerator_parameters(profile: Profile | None) -> dict[str, str]:
    """The TensorRT accelerator's parameters (Triton's ONNX Runtime backend keys)."""
    return {"precision_mode": "FP16", "max_workspace_size_bytes": str(DEFAULT_WORKSPACE),
            **(provider_shapes(profile) if profile else {})}


def config_pbtxt(name: str, graph, max_batch_size: int, profile: Profile | None = None) -> str:
    parameters = "".join(f'        parameters {{ key: "{key}" value: "{value}" }}\n'
                         for key, value in accelerator_parameters(profile).items())
    return (
        f'name: "{name}"\n'
        'platform: "onnxruntime_onnx"\n'
        f"max_batch_size: {max_batch_size}\n"
        + _block("input", tensor_entries(graph.input))
        + _block("output", tensor_entries(graph.output))
        + dynamic_batching(max_batch_size, profile)
        + "optimization {\n"
        "  execution_accelerators {\n"
        "    gpu_execution_accelerator: [\n"
        "      {\n"
        '        name: "tensorrt"\n'
        + parameters +
        "      }\n"
        "    ]\n"
        "  }\n"
        "}\n"
    )
