"""The text-recognition task API: images of digit strings in, the string and a confidence out.

The network stops at per-column log-probabilities; decoding happens here in numpy. Greedy CTC decoding
takes the best class per column, collapses repeats and drops blanks.
"""

from dataclasses import dataclass, replace

import numpy as np

from visionrt.errors import UserInputError
from visionrt.runtime.model import Model
from visionrt.runtime.tasks import images


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float  # probability of the greedy path: the product of each column's best probability
    ink: str | None = None  # "dark" or "light" strokes, as found (or given) for this image


def ctc_greedy_decode(log_probs: np.ndarray, alphabet: str, blank: int) -> list[Reading]:
    """Decode (N, T, C) log-probabilities: best class per column, repeats collapsed, blanks dropped."""
    best = log_probs.argmax(axis=-1)  # (N, T)
    path_log_prob = np.take_along_axis(log_probs, best[..., None], axis=-1)[..., 0].sum(axis=-1)
    readings = []
    for row, log_p in zip(best, path_log_prob):
        keep = np.ones(len(row), bool)
        keep[1:] = row[1:] != row[:-1]
        text = "".join(alphabet[c] for c in row[keep] if c != blank)
        readings.append(Reading(text, float(np.exp(log_p))))
    return readings


class TextReader(Model):
    def read(self, inputs, batch_size: int = 32, ink: str = "auto"):
        """Read one image (returns a Reading) or a list of images (returns a list), of any width.

        Images are PIL images, file paths, or HxW / HxWxC arrays (uint8, or float in [0, 1]), each scaled to
        the model's height keeping its aspect ratio. ``ink``: "dark" digits on light paper, "light" on a dark
        ground, or "auto" (default) to decide per image; each Reading says which.
        """
        meta = self.metadata  # the contract guarantees preprocessing, alphabet and blank for this task
        single = images.is_single_image(inputs)
        items = [inputs] if single else list(inputs)
        if not items:
            raise UserInputError("read() got an empty list of images")
        readings = []
        batch_size = max(1, min(batch_size, meta.max_batch_size))
        for start in range(0, len(items), batch_size):
            widest = self._rules.profile.max[-1] if self._rules.profile else None
            batch, inks = images.prepare(items[start : start + batch_size], meta.preprocessing, ink, widest,
                                         self.max_pixels)
            readings.extend(replace(reading, ink=found) for reading, found in
                            zip(ctc_greedy_decode(self.run(batch), meta.alphabet, meta.blank), inks))
        return readings[0] if single else readings
