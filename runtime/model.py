"""A loaded model: validated numpy in, numpy out, and an honest account of what runs it.

``run`` checks its inputs once against the artifact's own input spec and hands them to the backend; the
check costs a few microseconds (the benchmark reports the runtime's overhead over a bare session).
Nothing is mutated per call, so one Model may be used from several threads at once.
"""

import math

import numpy as np

from visionrt.errors import UserInputError
from visionrt.runtime.backends import Backend, TensorSpec
from visionrt.runtime.metadata import ModelInfo


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


class Model:
    """A model on one backend, device and precision. Task subclasses add e.g. ``classify``."""

    def __init__(self, backend: Backend, info: ModelInfo, precision: str, source: str, reasons: list[str]):
        self._backend, self.info, self.precision, self.source = backend, info, precision, source
        self.reasons = list(reasons)
        self.inputs: list[TensorSpec] = backend.inputs
        self.outputs: list[TensorSpec] = backend.outputs
        self._checks = {spec.name: InputCheck(spec) for spec in self.inputs}
        self._single = self._checks[self.inputs[0].name] if len(self.inputs) == 1 else None
        self._single_name = self.inputs[0].name

    def run(self, x):
        """Run a float32 NCHW batch (or a dict of named inputs). One output comes back as an array,
        several as a dict keyed by output name."""
        if self._single is not None and not isinstance(x, dict):
            feeds = {self._single_name: self._single(x)}
        elif isinstance(x, dict):
            feeds = self._check_feeds(x)
        else:
            raise UserInputError(f"this model has inputs {[s.name for s in self.inputs]}; pass a dict of arrays")
        results = self._backend.run(feeds)
        if len(results) == 1:
            return results[0]
        return {spec.name: value for spec, value in zip(self.outputs, results)}

    def _check_feeds(self, feeds: dict) -> dict:
        names = {s.name for s in self.inputs}
        if set(feeds) != names:
            raise UserInputError(f"inputs must be exactly {sorted(names)}, got {sorted(feeds)}")
        return {name: check(feeds[name]) for name, check in self._checks.items()}

    @property
    def backend(self) -> Backend:
        """The backend instance that runs this model (e.g. to reach its onnxruntime session)."""
        return self._backend

    def describe(self) -> dict:
        return {"model": self.info.model or self.source, "task": self.info.task, "precision": self.precision,
                "source": self.source, **self._backend.describe(), "reasons": self.reasons}

    def __repr__(self) -> str:
        backend = self._backend.describe()
        return (f"<{type(self).__name__} {self.info.model or self.source} on {backend['backend']}:{backend['device']} "
                f"{self.precision}>")
