"""The torch-free runtime: load a zoo model, model folder or ONNX file and run it.

    >>> from visionrt import runtime
    >>> model = runtime.load("digits")                  # backend and precision chosen, reasons recorded
    >>> model.classify("seven.png", top_k=3)
    >>> model.describe()["reasons"]
"""

import os

from visionrt import model_zoo
from visionrt.errors import UserInputError
from visionrt.runtime import selection, source as sources
from visionrt.runtime.backends import Target, backend_classes
from visionrt.runtime.metadata import ModelInfo
from visionrt.runtime.model import Model
from visionrt.runtime.tasks import COMPOSITES, VAE, Classifier, Denoiser, Prediction, Reading, TextReader, model_class

__all__ = ["load", "available_backends", "Model", "Classifier", "Prediction", "TextReader", "Reading", "Denoiser", "VAE", "Target"]


def available_backends() -> list[Target]:
    """Every backend target, fastest first; ``.available`` and ``.reason`` say what this machine has."""
    return selection.available_backends()


def backend_options(target: Target, target_reason: str, cuda_graph: bool, provider_options: dict | None) -> dict:
    """The keyword arguments for ``target``'s backend; an option it would ignore is refused, by name."""
    if cuda_graph and target.backend != "tensorrt":
        raise UserInputError(f"cuda_graph=True needs the native TensorRT backend, and {target.name} was chosen "
                             f"({target_reason}); pass backend='tensorrt'")
    if provider_options and not (target.backend == "onnxruntime" and target.on_gpu):
        raise UserInputError(f"provider_options are for ONNX Runtime's GPU providers, and {target.name} was chosen "
                             f"({target_reason}); pass backend='onnxruntime:cuda' (the CPU provider ignores "
                             "options, and native TensorRT takes its settings when the engine is built)")
    options = {}
    if cuda_graph:
        options["cuda_graph"] = True
    if provider_options:
        options["provider_options"] = dict(provider_options)
    return options


def load(source: str | os.PathLike, backend: str = "auto", precision: str = "auto", *,
         threads: int | None = None, cuda_graph: bool = False,
         provider_options: dict[str, str] | None = None) -> "Model | VAE":
    """Load ``source`` (zoo name, model folder or .onnx file) on ``backend`` at ``precision``.

    backend: "auto" (fastest available), a backend name such as "onnxruntime", or "backend:device" such as
    "onnxruntime:cpu". precision: "auto" (FP16 on a GPU, FP32 on a CPU), "fp32" or "fp16".
    cuda_graph: native TensorRT only; each thread captures a CUDA graph on a shape's second call and replays
    it after, which removes launch overhead for fixed shapes.
    provider_options: ONNX Runtime's GPU providers only; their own options, over visionrt's defaults, e.g.
    ``{"prefer_nhwc": "1"}`` for the CUDA provider (on an H100 it halved the colorizer's time at 1024 pixels
    and slowed the style network; measure before choosing). ``describe()`` shows what the provider got.
    Returns a task-specific Model (e.g. a Classifier with ``classify``) when the artifact names its task.
    """
    parts = model_zoo.composite(source) if isinstance(source, str) else None
    if parts:  # one name, several graphs (the VAE): load each, join them
        return COMPOSITES[source](*(load(part, backend, precision, threads=threads, cuda_graph=cuda_graph,
                                         provider_options=provider_options) for part in parts))
    resolved = sources.resolve(source)
    target, target_reason = selection.choose_target(backend, available_backends())
    options = backend_options(target, target_reason, cuda_graph, provider_options)
    if "file" in resolved.files:
        path, chosen, precision_reason = resolved.files["file"], None, None
    else:
        chosen, precision_reason = selection.choose_precision(precision, target, resolved.precisions())
        path = resolved.files[chosen]
    engine = backend_classes()[target.backend](path, target, threads=threads, **options)
    info = ModelInfo.from_custom_map(engine.custom_metadata, str(path))
    if chosen is None:  # a single file is whatever precision it was exported at
        chosen = info.precision or "unknown"
        if precision not in ("auto", chosen):
            raise UserInputError(f"{path} is a {chosen} model but precision {precision} was requested; "
                                 f"pass the {precision} file or the model folder")
        precision_reason = f"precision {chosen}: the file given"
    return model_class(info.task)(engine, info, chosen, resolved.description, [target_reason, precision_reason])
