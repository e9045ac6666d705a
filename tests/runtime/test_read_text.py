"""Greedy CTC decoding, and read() on the shipped digit reader."""

import numpy as np
import pytest
from extras import needs
from PIL import Image

from visionrt import model_zoo, runtime
from visionrt.runtime.tasks.read_text import ctc_greedy_decode

ALPHABET, BLANK = "0123456789", 10


def columns(*best: int, confidence: float = 0.9) -> np.ndarray:
    """(1, T, 11) log-probabilities whose best class per column is ``best``."""
    probabilities = np.full((len(best), 11), (1 - confidence) / 10)
    probabilities[np.arange(len(best)), best] = confidence
    return np.log(probabilities)[None]


def test_repeats_collapse_and_blanks_separate_and_vanish():
    assert ctc_greedy_decode(columns(1, 1, BLANK, 1, 2, 2, BLANK), ALPHABET, BLANK)[0].text == "112"
    assert ctc_greedy_decode(columns(BLANK, BLANK), ALPHABET, BLANK)[0].text == ""
    assert ctc_greedy_decode(columns(7), ALPHABET, BLANK)[0].text == "7"


def test_confidence_is_the_greedy_path_probability():
    reading = ctc_greedy_decode(columns(3, BLANK, 4, confidence=0.9), ALPHABET, BLANK)[0]
    assert reading.confidence == pytest.approx(0.9 ** 3)


needs_reader = pytest.mark.skipif(not model_zoo.installed("digit_reader"), reason="digit_reader is not in the zoo yet")


@pytest.fixture(scope="module")
def test_strings():
    """Test-split strings as dark-on-light uint8 images, exactly as the reader's training evaluated them."""
    needs("sklearn")
    from visionrt.train import data, strings

    dataset = data.load_digits_data(seed=0)
    images, texts = strings.make_strings(*dataset.part("test"), count=1000, seed=2)
    return [data.dark_on_light(image) for image in images], texts


@needs_reader
def test_reader_meets_its_bars_on_test_strings(test_strings):
    from visionrt.train import evaluate

    images, texts = test_strings
    model = runtime.load("digit_reader", backend="onnxruntime:cpu")
    metrics = evaluate.sequence_metrics(texts, [r.text for r in model.read(images)])
    assert metrics["sequence_accuracy"] >= 0.95
    assert metrics["character_error_rate"] <= 0.02


@needs_reader
def test_fp16_reads_the_same_strings_as_fp32(test_strings):
    images, _ = test_strings
    fp32 = runtime.load("digit_reader", backend="onnxruntime:cpu", precision="fp32").read(images)
    fp16 = runtime.load("digit_reader", backend="onnxruntime:cpu", precision="fp16").read(images)
    assert np.mean([a.text == b.text for a, b in zip(fp32, fp16)]) >= 0.995


@needs_reader
def test_any_width_scale_and_source(test_strings, tmp_path):
    images, texts = test_strings
    model = runtime.load("digit_reader", backend="onnxruntime:cpu")
    index = next(i for i, t in enumerate(texts) if len(t) == 8 and model.read(images[i]).text == t)
    image = Image.fromarray(images[index])
    tall = image.resize((image.width * 3, image.height * 3), Image.Resampling.BICUBIC)
    tall.convert("RGB").save(tmp_path / "string.png")
    readings = model.read([images[index], image, tall, str(tmp_path / "string.png")])
    assert [r.text for r in readings] == [texts[index]] * 4
    assert all(0.0 < r.confidence <= 1.0 for r in readings)


@needs_reader
def test_strings_longer_than_any_seen_in_training(test_strings):
    images, texts = test_strings
    model = runtime.load("digit_reader", backend="onnxruntime:cpu")
    singles = [(images[i], texts[i]) for i in range(len(texts)) if model.read(images[i]).text == texts[i]][:6]
    joined = np.concatenate([image for image, _ in singles], axis=1)  # far wider than any training string
    assert model.read(joined).text == "".join(text for _, text in singles)
