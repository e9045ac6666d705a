"""Task APIs chosen by the artifact's ``task`` metadata; a new task is one module and one entry here."""

from visionrt.runtime.model import Model
from visionrt.runtime.tasks.classify import Classifier, Prediction
from visionrt.runtime.tasks.image_to_image import Denoiser
from visionrt.runtime.tasks.read_text import Reading, TextReader

TASKS: dict[str, type[Model]] = {"classification": Classifier, "text_recognition": TextReader,
                                  "denoising": Denoiser}


def model_class(task: str | None) -> type[Model]:
    """The Model subclass for ``task``; a plain Model (``run`` only) for unknown or missing tasks."""
    return TASKS.get(task or "", Model)


__all__ = ["TASKS", "Classifier", "Prediction", "TextReader", "Reading", "Denoiser", "model_class"]
