"""Exception types shared by every part of visionrt.

User errors (bad input, missing extra, incompatible artifact) are separated from our own bugs, so that a
caller can catch the first kind and let the second surface.
"""


class VisionRTError(Exception):
    """Base class for every error visionrt raises on purpose."""


class UserInputError(VisionRTError, ValueError):
    """The caller passed something we cannot use; the message says what was expected and what arrived."""


class ArtifactError(VisionRTError):
    """A model file or folder is missing, unreadable, truncated, or lacks metadata we need."""


class MissingExtraError(VisionRTError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


class BackendUnavailableError(VisionRTError):
    """The requested backend, device or precision cannot run on this machine; the message says why."""


class NonFiniteOutputError(VisionRTError, ValueError):
    """A finite input gave NaN or Inf outputs: the input is beyond what the model computes in its precision."""


class ValidationFailedError(VisionRTError):
    """An exported artifact disagrees with its source model beyond tolerance; nothing was replaced."""


class ExportFailedError(VisionRTError):
    """PyTorch could not export a model to ONNX; the message names the torch version in use and the tested one."""


class EngineError(VisionRTError):
    """The engine failed on an input that passed visionrt's checks (a graph that takes only some sizes of its
    range, say); the message names the input's shape and gives the engine's own words."""
