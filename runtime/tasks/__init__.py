"""Task APIs chosen by the artifact's ``task`` metadata; a new task is one module and one entry here."""

from visionrt.runtime.model import Model
from visionrt.runtime.tasks.classify import Classifier, Prediction
from visionrt.runtime.tasks.image_to_image import Colorizer, Denoiser, FaceSwap, Stylizer, SwapGraph
from visionrt.runtime.tasks.read_text import Reading, TextReader
from visionrt.runtime.tasks.vae import VAE, VAEDecoder, VAEEncoder

TASKS: dict[str, type[Model]] = {"classification": Classifier, "text_recognition": TextReader,
                                  "denoising": Denoiser, "vae_encoder": VAEEncoder, "vae_decoder": VAEDecoder,
                                  "colorization": Colorizer, "face_swap": SwapGraph,
                                  "style_transfer": Stylizer}
COMPOSITES = {"vae": VAE, "faceswap": FaceSwap}  # zoo composites (model_zoo.composite) and the class that joins their parts


def model_class(task: str | None) -> type[Model]:
    """The Model subclass for ``task``; a plain Model (``run`` only) for unknown or missing tasks."""
    return TASKS.get(task or "", Model)


__all__ = ["TASKS", "COMPOSITES", "Classifier", "Prediction", "TextReader", "Reading", "Denoiser", "Colorizer", "Stylizer", "FaceSwap", "VAE",
           "VAEEncoder", "VAEDecoder", "model_class"]
