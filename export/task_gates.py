"""Task-level gates for a precision beyond FP32 (an INT8 file, BF16 execution): beside agreeing with FP32 tensor by tensor, it must keep the model's
own quality on held-out data, measured through the runtime's task API exactly as a user would run it.

- classification: test accuracy within 0.5 points of the FP32 file's;
- text recognition: sequence accuracy on held-out strings within 1 point;
- denoising: still beats the best classical filter the model was measured against (its recorded PSNR);
- VAE decoder: prior samples still classified by the zoo's digits model with mean top-1 probability >= 0.8.

Other tasks (colorization, style, face swap, the VAE encoder) are held by the tensor gate alone (>= 35 dB
against FP32 on real held-out inputs). Each gate gives {"fp32": ..., <precision>: ..., "bar": ..., "passed": ...}.
"""

from pathlib import Path

import numpy as np

MAX_ACCURACY_DROP = 0.005  # classifier: test accuracy within 0.5 points of FP32
MAX_SEQUENCE_DROP = 0.01  # reader: sequence accuracy within 1 point
MIN_SAMPLE_CONFIDENCE = 0.8  # VAE: mean top-1 probability of prior samples under the digits model
READER_STRINGS = 300


def digits_test_split(payload: dict):
    """The held-out test digits of the run that made this checkpoint, as dark-on-light uint8 images."""
    from visionrt.train import data

    dataset = data.load_digits_data(seed=payload.get("train_config", {}).get("seed", 0))
    return dataset.part("test")


def classification(fp32, other, payload: dict, label: str) -> dict:
    from visionrt.train import data

    ink, labels = digits_test_split(payload)
    images = list(data.dark_on_light(ink[:, 0]))

    def accuracy(model):
        return round(float(np.mean([p.label == str(y) for p, y in zip(model.classify(images), labels)])), 5)

    found = {"metric": "test_accuracy", "fp32": accuracy(fp32), label: accuracy(other),
             "bar": f"within {MAX_ACCURACY_DROP * 100:g} points of FP32"}
    return {**found, "passed": found[label] >= found["fp32"] - MAX_ACCURACY_DROP}


def text_recognition(fp32, other, payload: dict, label: str) -> dict:
    from visionrt.train import data, evaluate, strings

    ink, texts = strings.make_strings(*digits_test_split(payload), count=READER_STRINGS, seed=2)
    images = [data.dark_on_light(image) for image in ink]

    def accuracy(model):
        return round(evaluate.sequence_metrics(texts, [r.text for r in model.read(images)])["sequence_accuracy"], 5)

    found = {"metric": "sequence_accuracy", "fp32": accuracy(fp32), label: accuracy(other),
             "bar": f"within {MAX_SEQUENCE_DROP * 100:g} point of FP32"}
    return {**found, "passed": found[label] >= found["fp32"] - MAX_SEQUENCE_DROP}


def denoising(fp32, other, payload: dict, label: str) -> dict:
    from visionrt.train import denoiser

    config = payload.get("train_config", {})  # the noise draw and photos the recorded filter bar was measured on
    data = Path(config["data"]) if config.get("data") else None
    clean, noisy = denoiser.noisy_photos("test", config.get("seed", 0) + 2000, data)

    def mean_psnr(model):
        return round(float(np.mean([denoiser.psnr(clean[name], np.asarray(model.denoise(photo), np.float32) / 255.0)
                                    for name, photo in noisy.items()])), 3)

    best_filter = round(float(fp32.metadata.metrics["best_filter_psnr_db"]), 3)
    found = {"metric": "denoised_psnr_db", "fp32": mean_psnr(fp32), label: mean_psnr(other),
             "bar": f"above the best classical filter's {best_filter} dB"}
    return {**found, "passed": found[label] > best_filter}


def vae_decoder(fp32, other, payload: dict, label: str) -> dict:
    from visionrt import runtime

    classifier = runtime.load("digits", backend="onnxruntime:cpu", precision="fp32")
    z = np.random.default_rng(0).standard_normal((1000, fp32.latent)).astype(np.float32)

    def confidence(model):
        return round(float(np.mean([p.probability for p in classifier.classify(model.decode(z))])), 5)

    found = {"metric": "prior_sample_confidence", "fp32": confidence(fp32), label: confidence(other),
             "bar": f">= {MIN_SAMPLE_CONFIDENCE} mean top-1 probability under the digits model"}
    return {**found, "passed": found[label] >= MIN_SAMPLE_CONFIDENCE}


GATES = {"classification": classification, "text_recognition": text_recognition, "denoising": denoising,
         "vae_decoder": vae_decoder}


def task_gate(task: str | None, fp32, other, payload: dict, label: str) -> dict | None:
    """The task's figures for the FP32 model and the ``other`` one (loaded models; ``label`` is the other's
    precision, the key of its figure), or None where the tensor gate is the task's only gate."""
    if task not in GATES:
        return None
    return GATES[task](fp32, other, payload, label)
