"""Task APIs chosen by the artifact's ``task`` metadata, each declared once here: the class that offers it,
the method the CLI and the server call, and what that method answers. A new task is one module and one
entry in ``TASKS``; ``visionrt run``, the server's task routes and the export gates read it from here.

Lives in ``runtime/tasks/``, installed as ``visionrt.runtime.tasks``.
"""

from dataclasses import dataclass

from visionrt.runtime.model import Model
from visionrt.runtime.tasks.classify import Classifier, Prediction
from visionrt.runtime.tasks.image_to_image import Colorizer, Denoiser, FaceSwap, Stylizer, SwapGraph
from visionrt.runtime.tasks.read_text import Reading, TextReader
from visionrt.runtime.tasks.vae import VAE, VAEDecoder, VAEEncoder

ANSWERS = ("labels", "text", "image", "latent", "images_from_latent")


@dataclass(frozen=True)
class TaskApi:
    model_class: type
    method: str  # what a caller calls with images: classify, read, denoise, ...
    answer: str  # one of ANSWERS: Predictions, Readings, an image of the input's size, (mu, logvar), images
    suffix: str = ""  # image answers: the output file's name is <stem>_<suffix>.png
    route: str = ""  # the server's task route, when not the method's name
    top1: bool = False  # the outputs are class scores: export gates hold their argmax to agreement

    @property
    def route_name(self) -> str:
        return self.route or self.method


TASKS: dict[str, TaskApi] = {
    "classification": TaskApi(Classifier, "classify", "labels", top1=True),
    "text_recognition": TaskApi(TextReader, "read", "text", top1=True),
    "denoising": TaskApi(Denoiser, "denoise", "image", "denoised"),
    "colorization": TaskApi(Colorizer, "colorize", "image", "colorized"),
    "style_transfer": TaskApi(Stylizer, "stylize", "image", "stylized"),
    "face_swap": TaskApi(SwapGraph, "transform", "image", "swapped", route="swap"),
    "vae_encoder": TaskApi(VAEEncoder, "encode", "latent"),
    "vae_decoder": TaskApi(VAEDecoder, "decode", "images_from_latent"),
}
# Zoo composites (model_zoo.composite names their graphs): the class that joins them, and what it offers.
COMPOSITES: dict[str, TaskApi] = {
    "vae": TaskApi(VAE, "reconstruct", "image", "reconstructed"),
    "faceswap": TaskApi(FaceSwap, "swap", "image", "swapped"),
}
TOP1_TASKS = tuple(task for task, api in TASKS.items() if api.top1)


def model_class(task: str | None) -> type[Model]:
    """The Model subclass for ``task``; a plain Model (``run`` only) for unknown or missing tasks."""
    api = TASKS.get(task or "")
    return api.model_class if api else Model


def task_api(model) -> TaskApi | None:
    """What a loaded model (or composite) offers beyond ``run``; None for a tensor model."""
    return next((api for api in (*TASKS.values(), *COMPOSITES.values()) if type(model) is api.model_class), None)


__all__ = ["TASKS", "COMPOSITES", "TOP1_TASKS", "TaskApi", "task_api", "Classifier", "Prediction", "TextReader",
           "Reading", "Denoiser", "Colorizer", "Stylizer", "FaceSwap", "SwapGraph", "VAE", "VAEEncoder", "VAEDecoder",
           "model_class"]
