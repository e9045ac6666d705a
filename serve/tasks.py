"""Task routes: an encoded image in, the task's answer out, through the same task API ``runtime.load``
gives (``classify``, ``read``, ``denoise``, ...), so a client needs no preprocessing of its own.

    curl --data-binary @seven.png http://127.0.0.1:8000/v2/models/digits/classify?top_k=3
    curl --data-binary @photo.jpg http://127.0.0.1:8000/v2/models/style/stylize -o styled.png

The body is the image file itself (any format Pillow reads), or a multipart form upload (``curl -F
image=@photo.jpg``) whose first file part is used. Images come back as PNG at the input's size. Each task's
route and what it answers come from the task table (``runtime.tasks.TASKS``).
"""

import email.parser
import email.policy
import io

from visionrt.errors import UserInputError
from visionrt.runtime.tasks import images, task_api
from visionrt.serve.protocol import BadRequest, NotFound


def png(image) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "image/png", buffer.getvalue()


def classify(model, image, params, method):
    try:
        top_k = int(params.get("top_k", "1"))
    except ValueError:
        raise UserInputError(f"query parameter top_k must be a whole number, got {params['top_k']!r}") from None
    p = model.classify(image, top_k=top_k, ink=params.get("ink", "auto"))
    return "application/json", {"label": p.label, "probability": p.probability, "index": p.index,
                                "top_k": [[label, q] for label, q in p.top_k], "ink": p.ink}


def read(model, image, params, method):
    r = model.read(image, ink=params.get("ink", "auto"))
    return "application/json", {"text": r.text, "confidence": r.confidence, "ink": r.ink}


def encode(model, image, params, method):
    mu, logvar = model.encode(image, ink=params.get("ink", "auto"))
    return "application/json", {"mu": mu[0].tolist(), "logvar": logvar[0].tolist()}


ANSWERS = {  # what a task's method answers -> how a route answers it; a task whose answer is not here has no route
    "labels": classify, "text": read, "latent": encode,
    "image": lambda model, image, params, method: png(getattr(model, method)(image)),
}


def route_of(entry) -> str | None:
    api = task_api(entry.model)
    return api.route_name if api is not None and api.answer in ANSWERS else None


def endpoint(entry, route: str):
    """The function answering ``route`` for this model, run as ``(model, image, query) -> (type, body)``;
    it turns the task API's UserInputError into BadRequest."""
    own = route_of(entry)
    if own != route:
        offer = f"its task route is POST /v2/models/{entry.name}/{own}" if own else "it has no task route (use infer)"
        raise NotFound(f"model '{entry.name}' has no task route '{route}'; {offer}")
    api = task_api(entry.model)
    answer = ANSWERS[api.answer]

    def run(model, image, params):
        try:
            return answer(model, images.from_bytes(image, "the uploaded image", model.max_pixels), params, api.method)
        except UserInputError as exc:
            raise BadRequest(str(exc)) from None

    return run


def uploaded_image(body: bytes, content_type: str) -> bytes:
    """The image file's bytes: the body itself, or the first file of a multipart form."""
    if not content_type.startswith("multipart/form-data"):
        if not body:
            raise BadRequest("the request body is empty; send the image file as the body (curl --data-binary @x.png)")
        return body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_filename() is not None or part.get_content_type().startswith("image/"):
            return part.get_payload(decode=True) or b""
    raise BadRequest("the multipart form holds no file; upload the image as a file field (curl -F image=@x.png)")
