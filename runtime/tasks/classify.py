"""The classification task API: images in, labels and probabilities out."""

from dataclasses import dataclass

import numpy as np

from visionrt.errors import UserInputError
from visionrt.runtime.model import Model
from visionrt.runtime.tasks import images


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float
    index: int
    top_k: tuple[tuple[str, float], ...]  # best first, including the top-1
    ink: str | None = None  # "dark" or "light" strokes, as found (or given) for this image; None: no ink model


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class Classifier(Model):
    def classify(self, inputs, top_k: int = 1, batch_size: int = 64, ink: str = "auto"):
        """Classify one image (returns a Prediction) or a list of images (returns a list).

        Images are PIL images, file paths, or HxW / HxWxC arrays (uint8, or float in [0, 1]) of any size
        and color mode; preprocessing follows the artifact's metadata. ``ink`` ("auto", "dark" or "light"):
        for models of handwriting, whether strokes are darker than the paper; "auto" decides per image and
        each Prediction says what was found.
        """
        single = images.is_single_image(inputs)
        items = [inputs] if single else list(inputs)
        if not items:
            raise UserInputError("classify() got an empty list of images")
        labels = self.metadata.labels  # the contract guarantees them for this task
        if not 1 <= top_k <= len(labels):
            raise UserInputError(f"top_k must be in 1..{len(labels)}, got {top_k}")
        predictions = []
        batch_size = max(1, min(batch_size, self.metadata.max_batch_size))
        for start in range(0, len(items), batch_size):
            batch, inks = images.prepare(items[start : start + batch_size], self.metadata.preprocessing, ink,
                                         max_pixels=self.max_pixels)
            predictions.extend(self._decode(softmax(self.run(batch).astype(np.float64)), top_k, inks))
        return predictions[0] if single else predictions

    def _decode(self, probabilities: np.ndarray, top_k: int, inks: list) -> list[Prediction]:
        labels = self.metadata.labels
        order = np.argsort(-probabilities, axis=1)[:, :top_k]
        return [
            Prediction(labels[row[0]], float(p[row[0]]), int(row[0]), tuple((labels[i], float(p[i])) for i in row), ink)
            for row, p, ink in zip(order, probabilities, inks)
        ]
