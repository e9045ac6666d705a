"""classify(): any image in, a label and probability out, accurate on the held-out digits."""

import numpy as np
import pytest
from PIL import Image

from visionrt import runtime
from visionrt.errors import ArtifactError, UserInputError


@pytest.fixture(scope="module")
def model():
    return runtime.load("digits", backend="onnxruntime:cpu")


def test_runtime_accuracy_on_the_test_split_meets_the_bar(model, digits_test_split):
    images, labels = digits_test_split
    predictions = model.classify(list(images))
    accuracy = np.mean([p.label == str(y) for p, y in zip(predictions, labels)])
    assert accuracy >= 0.99


def test_fp16_agrees_with_fp32_on_the_test_split(digits_test_split):
    images, _ = digits_test_split
    fp32 = runtime.load("digits", backend="onnxruntime:cpu", precision="fp32").classify(list(images))
    fp16 = runtime.load("digits", backend="onnxruntime:cpu", precision="fp16").classify(list(images))
    agreement = np.mean([a.label == b.label for a, b in zip(fp32, fp16)])
    assert agreement >= 0.999


def test_paths_pil_images_and_arrays_of_any_size_and_mode_agree(model, digits_test_split):
    images, labels = digits_test_split
    pixels, label = images[7], str(labels[7])
    big = Image.fromarray(pixels).resize((64, 64), Image.Resampling.NEAREST)
    rgba = big.convert("RGBA")
    inputs = [pixels, big, big.convert("RGB"), rgba, np.asarray(big.convert("RGB")) / 255.0, pixels[:, :, None]]
    assert [p.label for p in model.classify(inputs)] == [label] * len(inputs)


def test_files_on_disk(model, digits_test_split, tmp_path):
    images, labels = digits_test_split
    path = tmp_path / "digit.png"
    Image.fromarray(images[3]).resize((40, 40)).save(path)
    prediction = model.classify(str(path))
    assert prediction.label == str(labels[3]) and 0.5 < prediction.probability <= 1.0


def test_top_k_is_sorted_and_probabilities_sum_to_one(model, digits_test_split):
    prediction = model.classify(digits_test_split[0][0], top_k=10)
    probabilities = [p for _, p in prediction.top_k]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) == pytest.approx(1.0)
    assert prediction.top_k[0] == (prediction.label, prediction.probability)
    with pytest.raises(UserInputError, match="top_k must be in 1..10"):
        model.classify(digits_test_split[0][0], top_k=11)


def test_bad_images_get_clear_errors(model, tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UserInputError, match="notes.png is not a readable image"):
        model.classify(tmp_path / "notes.png")
    with pytest.raises(UserInputError, match="image file not found: .*gone.png"):
        model.classify(tmp_path / "gone.png")
    with pytest.raises(UserInputError, match=r"HxW or HxWxC .* got shape \(4, 4, 2\)"):
        model.classify(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(UserInputError, match=r"values in \[0, 1\]"):
        model.classify(np.full((4, 4), 3.0))
    with pytest.raises(UserInputError, match="empty list"):
        model.classify([])


def test_a_bare_onnx_file_has_no_task_api(tmp_path):
    torch = pytest.importorskip("torch")
    from visionrt.export.onnx_export import export_onnx

    path = export_onnx(torch.nn.Flatten().eval(), "x", ("y",), torch.zeros(2, 1, 8, 8), tmp_path / "flat.onnx")
    model = runtime.load(path)
    assert type(model) is runtime.Model and not hasattr(model, "classify")
    with pytest.raises(ArtifactError, match="carries no visionrt metadata, which Classifier needs"):
        runtime.Classifier(model.backend, model.artifact, "fp32", "bare", [])
