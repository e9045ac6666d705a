"""The models a server holds: each a folder of the repository, loaded through the runtime, with the v2
metadata, Triton configuration and batching policy read from the folder's own files.

Everything a request is checked against comes from the loaded model (its input specs and shape rules), so
the server refuses exactly what ``runtime.load(...).run(...)`` refuses, with the same words.
"""

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from visionrt import model_zoo
from visionrt.errors import ArtifactError, UserInputError, VisionRTError
from visionrt.serve.batcher import Batcher, BatchPolicy
from visionrt.serve.protocol import BadRequest, EngineFailed, NotFound, Request, datatype_of
from visionrt.serve.statistics import ModelStatistics

INT64_CONFIG_KEYS = re.compile(r"(dims|_size|microseconds|count|priority_levels)$")


@dataclass(frozen=True)
class ModelChoice:
    """How to load the served models: what ``runtime.load`` takes (for all, or per model), and the batching
    overrides."""

    backend: str = "auto"
    precision: str = "auto"
    backends: dict[str, str] = field(default_factory=dict)  # model -> backend, over ``backend``
    precisions: dict[str, str] = field(default_factory=dict)  # model -> precision, over ``precision``
    dynamic_batching: bool = True  # False: every request runs alone, whatever config.pbtxt says
    instances: int | None = None  # None: config.pbtxt's instance_group count, else 1
    max_queue: int = 1024


def read_config(folder: Path):
    """``config.pbtxt`` parsed by Triton's own ModelConfig schema; ArtifactError naming the file otherwise."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    path = folder / "config.pbtxt"
    if not path.is_file():
        raise ArtifactError(f"{folder} has no config.pbtxt; it is not a model repository entry")
    try:
        return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not a valid Triton model configuration: {exc}") from exc


def config_to_dict(config) -> dict:
    """The configuration as Triton's HTTP endpoint writes it: proto field names, 64-bit numbers as numbers."""
    from google.protobuf import json_format

    def numbers(value, key=""):
        if isinstance(value, dict):
            return {k: numbers(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [numbers(v, key) for v in value]
        if isinstance(value, str) and INT64_CONFIG_KEYS.search(key) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value

    return numbers(json_format.MessageToDict(config, preserving_proto_field_name=True))


def served_defaults(config, name: str, policy: BatchPolicy) -> None:
    """Fill in what Triton reports of a configuration it serves and the file left to defaults: the backend,
    the version policy, and the instances this server actually runs (clients read ``instance_group``)."""
    from tritonclient.grpc import model_config_pb2

    if not config.backend and config.platform == "onnxruntime_onnx":
        config.backend = "onnxruntime"
    if not config.HasField("version_policy"):
        config.version_policy.latest.num_versions = 1
    if not config.instance_group:
        config.instance_group.add(name=f"{name}_0", kind=model_config_pb2.ModelInstanceGroup.KIND_CPU,
                                  count=policy.instances)


def batch_policy(config, choice: ModelChoice) -> BatchPolicy:
    batching = config.dynamic_batching if config.HasField("dynamic_batching") else None
    groups = sum(group.count or 1 for group in config.instance_group) or 1
    return BatchPolicy(max_batch_size=config.max_batch_size,
                       preferred=tuple(batching.preferred_batch_size) if batching else (),
                       max_delay_s=batching.max_queue_delay_microseconds / 1e6 if batching else 0.0,
                       enabled=batching is not None and choice.dynamic_batching and config.max_batch_size > 1,
                       max_queue=choice.max_queue, instances=choice.instances or groups)


class ServedModel:
    def __init__(self, name: str, folder: Path, model, config, policy: BatchPolicy):
        self.name, self.folder, self.model, self.config, self.policy = name, folder, model, config, policy
        self.version = max((p.name for p in folder.iterdir() if p.is_dir() and p.name.isdigit()), key=int)
        self.statistics = ModelStatistics(name, self.version)
        self.executor = ThreadPoolExecutor(max(1, policy.instances), thread_name_prefix=f"visionrt-{name}")
        self.batcher: Batcher | None = None  # made on the server's event loop
        self.output_names = [spec.name for spec in model.outputs]
        self.task_pending = 0  # task-route requests waiting or running, bounded like the queue
        # Task routes decode and tile whole images: their own worker, so they never hold up batches
        self.task_executor = ThreadPoolExecutor(1, thread_name_prefix=f"visionrt-{name}-tasks")
        served_defaults(config, name, policy)
        self.ready = False
        self.load_seconds = self.warm_seconds = 0.0

    def start(self) -> None:
        self.batcher = Batcher(self.run_batch, self.policy, self.executor, self.statistics)

    def run_batch(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        result = self.model.run(feeds)
        return [result] if not isinstance(result, dict) else [result[name] for name in self.output_names]

    def warm(self) -> None:
        """One run at batch 1 of the artifact's typical size, so the first client pays no first-call cost."""
        started = time.perf_counter()
        feeds = {}
        for spec in self.model.inputs:
            shape = [1] + [size if size is not None else 64 for size in spec.shape[1:]]
            profile = self.model.profile
            if profile is not None and spec.name == profile.input_name:
                shape = [1, *profile.opt[1:]]
            feeds[spec.name] = np.zeros(shape, dtype=spec.dtype)
        self.run_batch(feeds)
        self.warm_seconds = time.perf_counter() - started
        self.ready = True

    @property
    def datatypes(self) -> dict[str, str]:
        """Input name -> the v2 datatype it takes: what a request is checked against before it is decoded."""
        return {spec.name: datatype_of(spec.dtype) for spec in self.model.inputs}

    def metadata(self) -> dict:
        def tensors(specs):
            return [{"name": s.name, "datatype": datatype_of(s.dtype), "shape": [-1 if d is None else d for d in s.shape]}
                    for s in specs]

        return {"name": self.name, "versions": [self.version], "platform": self.config.platform or "visionrt",
                "inputs": tensors(self.model.inputs), "outputs": tensors(self.model.outputs)}

    def check(self, request: Request) -> dict[str, np.ndarray]:
        """The request's inputs as the model's feeds, or BadRequest naming the input and the problem."""
        specs = {spec.name: spec for spec in self.model.inputs}
        unknown = sorted(set(request.inputs) - set(specs))
        if unknown:
            raise BadRequest(f"model '{self.name}' has no input {', '.join(map(repr, unknown))}; its inputs are "
                             f"{sorted(specs)}")
        missing = sorted(set(specs) - set(request.inputs))
        if missing:
            raise BadRequest(f"model '{self.name}' needs input {', '.join(map(repr, missing))}")
        for name, value in request.inputs.items():
            want = datatype_of(specs[name].dtype)
            if datatype_of(value.dtype) != want:
                raise BadRequest(f"input '{name}': datatype {datatype_of(value.dtype)}, model '{self.name}' takes {want}")
        batches = {name: value.shape[0] if value.ndim else None for name, value in request.inputs.items()}
        if self.config.max_batch_size > 0 and len(set(batches.values())) > 1:
            raise BadRequest(f"model '{self.name}': every input must have the same batch size, got {batches}")
        bad = sorted((set(request.outputs) | set(request.classification)) - set(self.output_names))
        if bad:
            raise BadRequest(f"model '{self.name}' has no output {', '.join(map(repr, bad))}; its outputs are "
                             f"{self.output_names}")
        try:
            return self.model.checked(dict(request.inputs))
        except UserInputError as exc:
            raise BadRequest(str(exc)) from None

    async def infer(self, request: Request, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The requested outputs by name for ``feeds`` (``check``'s), computed in a batch with whatever else
        is queued; an output asked for with ``classification`` comes back as Triton's top-k strings."""
        self.statistics.pending += 1
        try:
            outputs = await self.batcher.submit(feeds)
        except VisionRTError as exc:  # an engine failure on this input, a non-finite output
            raise EngineFailed(str(exc)) from None
        finally:
            self.statistics.pending -= 1
        wanted = request.outputs or self.output_names
        results = {name: value for name, value in zip(self.output_names, outputs) if name in wanted}
        for name, count in request.classification.items():
            results[name] = top_classes(results[name], count, self.labels, name)
        return results

    @property
    def labels(self) -> tuple[str, ...] | None:
        meta = self.model.metadata
        return meta.labels if meta is not None and meta.task == "classification" else None


def top_classes(scores: np.ndarray, count: int, labels, name: str) -> np.ndarray:
    """Triton's classification extension: the ``count`` best classes of each row as BYTES
    ``"score:index"`` (``"score:index:label"`` where the model names its classes), best first."""
    if scores.ndim != 2:
        raise BadRequest(f"output '{name}' has shape {list(scores.shape)}; classification takes (batch, classes) scores")
    if not 1 <= count <= scores.shape[1]:
        raise BadRequest(f"output '{name}': classification count must be in 1..{scores.shape[1]}, got {count}")
    order = np.argsort(-scores, axis=1, kind="stable")[:, :count]
    text = [[f"{row[i]:f}:{i}" + (f":{labels[i]}" if labels else "") for i in best] for row, best in zip(scores, order)]
    return np.array([[t.encode() for t in line] for line in text], dtype=np.object_)


def repository_entries(repository: Path | None, names: list[str] | None) -> list[tuple[str, Path, str]]:
    """(name, folder, what to hand runtime.load) for each model to serve: every entry of the repository
    (a folder with config.pbtxt), or just ``names``. Zoo models load by name so their tuning records apply."""
    folder = Path(repository) if repository else model_zoo.repository_path()
    if not folder.is_dir():
        raise UserInputError(f"--repository {folder} is not a folder")
    found = {p.name: p for p in sorted(folder.iterdir()) if (p / "config.pbtxt").is_file()}
    wanted = names or sorted(found)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        raise UserInputError(f"{folder} has no model {', '.join(map(repr, unknown))}; it has {', '.join(found) or 'none'}")
    if not wanted:
        raise UserInputError(f"{folder} holds no model (no subfolder with a config.pbtxt)")
    by_name = repository is None
    return [(name, found[name], name if by_name else str(found[name].resolve())) for name in wanted]


def check_choice(choice: ModelChoice, served: list[str]) -> None:
    """A per-model setting for a model that is not served is a typo: refused by name, before anything loads."""
    stray = sorted((set(choice.backends) | set(choice.precisions)) - set(served))
    if stray:
        raise UserInputError(f"--backend/--precision name {', '.join(map(repr, stray))}, which this server does not "
                             f"serve; it serves {', '.join(served)}")


def load_models(repository: Path | None, names: list[str] | None, choice: ModelChoice, progress=print) -> dict[str, ServedModel]:
    from visionrt import runtime

    served, entries = {}, repository_entries(repository, names)
    check_choice(choice, [name for name, _, _ in entries])
    for name, folder, source in entries:
        started = time.perf_counter()
        config = read_config(folder)
        policy = batch_policy(config, choice)
        threads = None if policy.instances == 1 else max(1, (os.cpu_count() or 1) // policy.instances)  # instances share the cores
        model = runtime.load(source, backend=choice.backends.get(name, choice.backend),
                             precision=choice.precisions.get(name, choice.precision), threads=threads)
        entry = ServedModel(name, folder, model, config, policy)
        entry.load_seconds = time.perf_counter() - started
        entry.warm()
        progress(f"  {name}: {model!r}, loaded in {entry.load_seconds:.2f} s, warmed in {entry.warm_seconds * 1e3:.0f} ms, "
                 f"batching {'up to ' + str(entry.policy.max_batch_size) if entry.policy.enabled else 'off'}")
        served[name] = entry
    return served


def find(models: dict[str, ServedModel], name: str, version: str = "") -> ServedModel:
    if name not in models:
        raise NotFound(f"unknown model '{name}'; this server has {', '.join(sorted(models))}")
    entry = models[name]
    if version and version != entry.version:
        raise NotFound(f"model '{name}' has no version '{version}'; it serves version {entry.version}")
    return entry


def statistics_of(models: dict[str, ServedModel], name: str | None, version: str = "") -> dict:
    """Triton's statistics response for one model or all; an unknown model is the caller's error (400), as
    Triton answers it."""
    try:
        entries = [find(models, name, version)] if name else list(models.values())
    except NotFound as exc:
        raise BadRequest(str(exc)) from None
    return {"model_stats": [entry.statistics.to_dict() for entry in entries]}


def index(models: dict[str, ServedModel]) -> list[dict]:
    return [{"name": m.name, "version": m.version, "state": "READY"} if m.ready else
            {"name": m.name, "version": m.version, "state": "UNAVAILABLE", "reason": "loading"} for m in models.values()]


__all__ = ["ModelChoice", "ServedModel", "load_models", "find", "index", "config_to_dict"]
