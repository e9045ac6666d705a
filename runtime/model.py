"""A loaded model: validated numpy in, numpy out, and an honest account of what runs it.

``run`` checks its inputs once against the artifact's own input spec and hands them to the backend; the
check costs a few microseconds (the benchmark reports the runtime's overhead over a bare session).
Nothing is mutated per call, so one Model may be used from several threads at once.
"""

import math

import numpy as np

from visionrt.artifact import Artifact, ArtifactMetadata
from visionrt.errors import ArtifactError, EngineError, NonFiniteOutputError, UserInputError, VisionRTError
from visionrt.runtime.backends import Backend, TensorSpec
from visionrt.runtime.profiles import Profile, profile_from_metadata


DEFAULT_MAX_PIXELS = 1 << 27  # 134 megapixels: images above it are refused from their header, before decoding


def shape_text(shape) -> str:
    dims = ["N" if i == 0 and d is None else ("?" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def check_input(spec: TensorSpec, value) -> np.ndarray:
    """Return ``value`` if it fits ``spec``; else raise UserInputError naming expected and actual."""
    expected = f"expected {spec.dtype} of shape {shape_text(spec.shape)}"
    if not isinstance(value, np.ndarray):
        raise UserInputError(f"input '{spec.name}': {expected}, got {type(value).__name__}; pass a numpy array")
    if value.dtype != spec.dtype or value.ndim != len(spec.shape):
        hint = f"; use x.astype(np.{spec.dtype})" if value.ndim == len(spec.shape) else \
            "; pass a batch (add the leading N axis) or use the task API (e.g. classify()) for images"
        raise UserInputError(f"input '{spec.name}': {expected}, got {value.dtype} {value.shape}{hint}")
    if value.shape[0] == 0:
        raise UserInputError(f"input '{spec.name}': {expected}, got an empty batch {value.shape}")
    for axis, (want, got) in enumerate(zip(spec.shape, value.shape)):
        if want is not None and want != got:
            raise UserInputError(f"input '{spec.name}': {expected}, got {value.dtype} {value.shape} "
                                 f"(axis {axis} is {got}, must be {want})")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise UserInputError(f"input '{spec.name}': {bad} value(s) are NaN or Inf; inputs must be finite")
    return value


class InputCheck:
    """``check_input`` specialised to one spec, with a fast path for valid input.

    The fast path costs about half a microsecond: the dot product of the input with itself is finite
    exactly when no element is NaN or Inf, barring overflow of huge finite values (|x| > 1e19), which
    falls through to the exact check. It measured cheaper in front of an onnxruntime call than a sum or
    ``isfinite().all()``. Anything the fast path does not accept goes to ``check_input``, which either
    accepts it after all or explains the problem.
    """

    def __init__(self, spec: TensorSpec):
        self.spec, self.dtype, self.rank = spec, np.dtype(spec.dtype), len(spec.shape)
        tail = spec.shape[1:]
        self.tail = tuple(tail) if None not in tail else None  # fully fixed non-batch dims

    def __call__(self, value):
        if (type(value) is np.ndarray and value.dtype is self.dtype and value.ndim == self.rank and value.shape[0]
                and (self.tail is None or value.shape[1:] == self.tail) and math.isfinite(np.vdot(value, value))):
            return value
        return check_input(self.spec, value)


def servable(inputs: list[TensorSpec], outputs: list[TensorSpec], artifact: Artifact) -> list[TensorSpec]:
    """``inputs`` if the runtime can feed this graph and its metadata describes it; else ArtifactError.

    A graph with no inputs, a scalar input or an input type numpy cannot hold is refused here, at load,
    rather than met as a TypeError on the first call; the metadata's input and outputs must be the graph's.
    """
    origin = artifact.path
    if not inputs:
        raise ArtifactError(f"{origin}: the graph has no inputs; visionrt runs graphs that take at least one tensor")
    for spec in inputs:
        if not spec.shape:
            raise ArtifactError(f"{origin}: input '{spec.name}' is a scalar; visionrt feeds batches (rank >= 1)")
        try:
            np.dtype(spec.dtype)
        except TypeError:
            raise ArtifactError(f"{origin}: input '{spec.name}' has type {spec.dtype}, which numpy cannot hold") from None
    meta = artifact.metadata
    if meta is not None:
        first = inputs[0]
        if first.name != meta.input.name or len(first.shape) != 1 + len(meta.input.shape):
            raise ArtifactError(f"{origin}: the metadata describes input '{meta.input.name}' of rank "
                                f"{1 + len(meta.input.shape)}, the graph takes '{first.name}' of rank {len(first.shape)}")
        if tuple(spec.name for spec in outputs) != meta.outputs:
            raise ArtifactError(f"{origin}: the metadata names outputs {list(meta.outputs)}, the graph gives "
                                f"{[spec.name for spec in outputs]}")
        classes = meta.classes
        width = outputs[0].shape[-1] if outputs[0].shape else None
        if classes is not None and width is not None and width != len(classes):
            raise ArtifactError(f"{origin}: output '{outputs[0].name}' scores {width} classes but the metadata names "
                                f"{len(classes)} ({'labels' if meta.task == 'classification' else 'alphabet and blank'})")
    return inputs


class ShapeRules:
    """What an artifact records about the shapes it takes beyond its graph: the range of each axis (the
    profile TensorRT and OpenVINO are built for) and the side multiple of image-to-image networks, whose
    graphs otherwise accept any size and return another (a 30x30 input to the style network gave 32x32)."""

    def __init__(self, meta: ArtifactMetadata | None):
        self.profile: Profile | None = None
        self.multiple, self.max_batch, self.dynamic, self.task = 1, None, False, None
        if meta is None:
            return
        self.task = meta.task
        try:
            self.profile = profile_from_metadata(meta)
        except ArtifactError:
            pass
        self.max_batch = meta.max_batch_size
        self.dynamic = None in meta.input.shape  # else the input check has fixed every axis but the batch
        if self.dynamic and meta.input.layout == "NCHW" and meta.preprocessing is not None:
            self.multiple = meta.preprocessing.multiple

    def check(self, name: str, shape: tuple[int, ...]) -> None:
        """Cheap where it can be (a fixed-size input needs only its batch checked), exact otherwise."""
        if self.dynamic or not 1 <= shape[0] <= self.max_batch:
            self(name, shape)

    def __call__(self, name: str, shape: tuple[int, ...]) -> None:
        if self.profile is not None and len(shape) == len(self.profile.min):
            for axis, (low, got, high) in enumerate(zip(self.profile.min, shape, self.profile.max)):
                if not low <= got <= high:
                    what, fix = ("the batch", "split it") if axis == 0 else \
                        (f"axis {axis}", "the task APIs tile large images" if self.task and got > high
                         else "resize or pad it into the range")
                    raise UserInputError(f"input '{name}': {what} is {got}, outside the artifact's range [{low}, {high}] "
                                         f"(shape {tuple(shape)}); {fix}")
        if self.multiple > 1 and (shape[-1] % self.multiple or shape[-2] % self.multiple):
            padded = "x".join(str(-(-side // self.multiple) * self.multiple) for side in shape[-2:])
            raise UserInputError(f"input '{name}': height and width must be multiples of {self.multiple}, got "
                                 f"{shape[-2]}x{shape[-1]}; pad to {padded} (the task API pads and crops for you)")


def check_outputs(results: list, names: list[str]) -> list:
    """``results``, unless a float output holds NaN or Inf (the inputs were checked finite). The dot product
    of an output with itself is finite exactly when it holds no NaN or Inf, barring overflow of huge finite
    values, which falls through to the exact check; about a microsecond for a small output."""
    for index, value in enumerate(results):
        if value.dtype.kind == "f" and not math.isfinite(np.vdot(value, value)) and not np.isfinite(value).all():
            bad = int(value.size - np.count_nonzero(np.isfinite(value)))
            raise NonFiniteOutputError(f"output '{names[index]}' holds {bad} NaN or Inf value(s) for a finite input: "
                                       "the input is beyond what the model computes (far outside its training range?)")
    return results


class Model:
    """A model on one backend, device and precision. Task subclasses add e.g. ``classify``."""

    def __init__(self, backend: Backend, artifact: Artifact, precision: str, source: str, reasons: list[str]):
        self._backend, self.artifact, self.precision, self.source = backend, artifact, precision, source
        self.metadata: ArtifactMetadata | None = artifact.metadata  # None: a plain ONNX file, run() only
        if self.metadata is None and type(self) is not Model:
            raise ArtifactError(f"{source} carries no visionrt metadata, which {type(self).__name__} needs; use Model.run()")
        self.reasons = list(reasons)
        self.max_pixels = DEFAULT_MAX_PIXELS  # the task APIs refuse larger images before decoding them
        self.inputs: list[TensorSpec] = servable(backend.inputs, backend.outputs, artifact)
        self.outputs: list[TensorSpec] = backend.outputs
        self._checks = {spec.name: InputCheck(spec) for spec in self.inputs}
        self._single = self._checks[self.inputs[0].name] if len(self.inputs) == 1 else None
        self._single_name = self.inputs[0].name
        self._rules = ShapeRules(self.metadata)
        self._ruled = self.metadata.input.name if self.metadata is not None else None
        self._output_names = [spec.name for spec in self.outputs]

    def run(self, x):
        """Run a float32 NCHW batch (or a dict of named inputs). One output comes back as an array,
        several as a dict keyed by output name."""
        feeds = self.checked(x)
        try:
            raw = self._backend.run(feeds)
        except VisionRTError:
            raise
        except Exception as exc:  # ONNX Runtime's Fail, OpenVINO's RuntimeError: its words, with the shapes given
            shapes = ", ".join(f"'{name}' {tuple(value.shape)}" for name, value in feeds.items())
            raise EngineError(f"{self._backend.describe().get('backend', 'the engine')} failed on input {shapes}: "
                              f"{' '.join(str(exc).split())[:400]}") from exc
        results = check_outputs(raw, self._output_names)
        if len(results) == 1:
            return results[0]
        return {spec.name: value for spec, value in zip(self.outputs, results)}

    def checked(self, x) -> dict:
        """The feeds ``run`` would hand the engine for ``x``, or the UserInputError it would raise: a server
        checks each request this way before joining it into a batch, so one bad request fails alone."""
        if self._single is not None and not isinstance(x, dict):
            feeds = {self._single_name: self._single(x)}
        elif isinstance(x, dict):
            feeds = self._check_feeds(x)
        else:
            raise UserInputError(f"this model has inputs {[s.name for s in self.inputs]}; pass a dict of arrays")
        if self._ruled is not None:
            self._rules.check(self._ruled, feeds[self._ruled].shape)
        return feeds

    def _check_feeds(self, feeds: dict) -> dict:
        names = {s.name for s in self.inputs}
        if set(feeds) != names:
            raise UserInputError(f"inputs must be exactly {sorted(names)}, got {sorted(feeds)}")
        return {name: check(feeds[name]) for name, check in self._checks.items()}

    @property
    def name(self) -> str:
        return self.metadata.model if self.metadata else self.source

    @property
    def profile(self) -> Profile | None:
        """The shape range the artifact was checked and built for (batch first); None for a plain ONNX file."""
        return self._rules.profile

    @property
    def backend(self) -> Backend:
        """The backend instance that runs this model (e.g. to reach its onnxruntime session)."""
        return self._backend

    def describe(self) -> dict:
        return {"model": self.name, "task": self.metadata.task if self.metadata else None, "precision": self.precision,
                "source": self.source, **self._backend.describe(), "reasons": self.reasons}

    def __repr__(self) -> str:
        backend = self._backend.describe()
        return (f"<{type(self).__name__} {self.name} on {backend['backend']}:{backend['device']} "
                f"{self.precision}>")
