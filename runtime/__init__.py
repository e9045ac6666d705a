"""The torch-free runtime: load a zoo model, model folder or ONNX file and run it.

    >>> from visionrt import runtime
    >>> model = runtime.load("digits")                  # backend and precision chosen, reasons recorded
    >>> model.classify("seven.png", top_k=3)
    >>> model.describe()["reasons"]

Lives in ``runtime/``, installed as ``visionrt.runtime`` (pyproject.toml maps each root folder into the one namespace).
"""

import os

from visionrt import artifact, model_zoo
from visionrt.errors import ArtifactError, UserInputError
from visionrt.execution_gates import load_note
from visionrt.runtime import selection, source as sources, tuning
from visionrt.runtime.backends import Target, backend_classes
from visionrt.runtime.model import Model
from visionrt.runtime.tasks import COMPOSITES, VAE, Classifier, Denoiser, Prediction, Reading, TextReader, model_class

__all__ = ["load", "available_backends", "Model", "Classifier", "Prediction", "TextReader", "Reading", "Denoiser", "VAE", "Target"]


def available_backends() -> list[Target]:
    """Every backend target, fastest first; ``.available`` and ``.reason`` say what this machine has."""
    return selection.available_backends()


def backend_options(target: Target, target_reason: str, cuda_graph: bool, provider_options: dict | None,
                    precision: str, spin: bool = False) -> dict:
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
    if spin and target.name != "onnxruntime:cpu":
        raise UserInputError(f"spin=True is for ONNX Runtime's CPU provider, and {target.name} was chosen ({target_reason})")
    if spin:
        options["spin"] = True
    if target.backend == "openvino":  # OpenVINO chooses its compute precision itself unless told
        options["precision"] = precision if precision in selection.EXECUTION_ONLY else "fp32"
    return options


def tuned_target(fp32_file, target: Target, static_reason: str, targets: list[Target]) -> tuple[Target, str, dict]:
    """The CPU target and settings ``visionrt tune`` measured fastest for this file on this machine, where a
    record applies; else the static choice, saying that it was not measured."""
    cpu = {t.name: t for t in targets if t.available and not t.on_gpu}
    name = tuning.record_name(fp32_file)
    record = tuning.applicable(name, fp32_file, set(cpu))
    if record is not None:
        return cpu[record.winner], record.reason(), dict(record.options)
    return target, static_reason + f"; not tuned here (`visionrt tune {name}`)", {}


def choose_file(precision: str, target: Target, resolved: sources.Source) -> tuple[artifact.Artifact, str, str]:
    """(the artifact to run, the precision it runs at, why): a folder's file for the chosen precision, or the
    single file given, which is whatever precision it was exported at."""
    if "file" not in resolved.files:
        chosen, reason = selection.choose_precision(precision, target, resolved.precisions())
        path = resolved.files[selection.EXECUTION_ONLY.get(chosen, chosen)]
        found = artifact.read(path)
        if found.precision != selection.EXECUTION_ONLY.get(chosen, chosen):
            raise ArtifactError(f"{path} is the folder's {chosen} file but holds a {found.precision} model; re-export it")
        return found, chosen, reason + (load_note(path, chosen) if chosen in selection.EXECUTION_ONLY else "")
    found = artifact.read(resolved.files["file"])
    if precision not in selection.PRECISIONS:
        raise UserInputError(f"precision must be one of {selection.PRECISIONS}, got '{precision}'")
    if precision in selection.EXECUTION_ONLY:
        chosen, reason = selection.choose_precision(precision, target, [found.precision])
        return found, chosen, reason + load_note(found.path, chosen)
    if precision not in ("auto", found.precision):
        raise UserInputError(f"{found.path} is a {found.precision} model but precision {precision} was requested; "
                             f"pass the {precision} file or the model folder")
    return found, found.precision, f"precision {found.precision}: the file given"


def load(source: str | os.PathLike, backend: str = "auto", precision: str = "auto", *,
         threads: int | None = None, spin: bool | None = None, cuda_graph: bool = False,
         provider_options: dict[str, str] | None = None) -> "Model | VAE":
    """Load ``source`` (zoo name, model folder or .onnx file) on ``backend`` at ``precision``.

    backend: "auto" (the fastest available; on a CPU, what `visionrt tune` measured fastest here where a record
    applies), a backend name such as "onnxruntime" or "openvino", or "backend:device" such as "onnxruntime:cpu". precision: "auto" (FP16 on a GPU, FP32 on a CPU), "fp32", "fp16", "int8" (the gated INT8
    file, CPU targets; auto takes it where `visionrt tune` measured it fastest) or "bf16" (OpenVINO on a CPU
    with native BF16, computing the FP32 file; refused where its gate failed, and auto takes it only where its
    gate passed and `visionrt tune` measured it fastest). threads: intra-op threads (None: as tuned, else one per core).
    cuda_graph: native TensorRT only; each thread captures a CUDA graph on a shape's second call and replays
    it after, which removes launch overhead for fixed shapes.
    spin: ONNX Runtime's CPU provider only; let idle worker threads spin between calls (faster for a tiny model
    called in a tight loop, slower for everything else in the process); None: as ``visionrt tune`` found, else off.
    provider_options: ONNX Runtime's GPU providers only; their own options, over visionrt's defaults, e.g.
    ``{"prefer_nhwc": "1"}`` for the CUDA provider (on an H100 it halved the colorizer's time at 1024 pixels
    and slowed the style network; measure before choosing). ``describe()`` shows what the provider got.
    Returns a task-specific Model (e.g. a Classifier with ``classify``) when the artifact names its task.
    """
    parts = model_zoo.composite(source) if isinstance(source, str) else None
    if parts:  # one name, several graphs (the VAE): load each, join them
        return COMPOSITES[source].model_class(*(load(part, backend, precision, threads=threads, spin=spin, cuda_graph=cuda_graph,
                                         provider_options=provider_options) for part in parts))
    resolved = sources.resolve(source)
    targets = available_backends()  # each backend probes its libraries and devices: once per load
    target, target_reason = selection.choose_target(backend, targets)
    tuned = {}
    if backend == "auto" and precision == "auto" and not target.on_gpu and "fp32" in resolved.files:
        target, target_reason, tuned = tuned_target(resolved.files["fp32"], target, target_reason, targets)
    threads = threads if threads is not None else tuned.get("threads")
    spin = spin if spin is not None else tuned.get("spin", False)
    if backend == "auto" and spin and target.name != "onnxruntime:cpu" and "spin" not in tuned:  # the caller's spin
        target, target_reason = selection.choose_target("onnxruntime:cpu", targets)
    from_tuning = precision == "auto" and "precision" in tuned  # INT8 or BF16, through a passed gate, measured fastest
    if from_tuning:
        precision = tuned["precision"]
    found, chosen, precision_reason = choose_file(precision, target, resolved)
    if from_tuning:
        precision_reason = precision_reason.replace("as requested", "auto, measured fastest here by `visionrt tune`", 1)
    options = backend_options(target, target_reason, cuda_graph, provider_options, chosen, spin)
    engine = backend_classes()[target.backend](found, target, threads=threads, **options)
    task = found.metadata.task if found.metadata else None
    return model_class(task)(engine, found, chosen, resolved.description, [target_reason, precision_reason])
