"""Style training: the shipped style image is the one the renderer draws, and a tiny run goes end to end."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from visionrt.errors import UserInputError  # noqa: E402
from visionrt.train import style, style_image, style_loss  # noqa: E402


def test_the_shipped_style_image_is_what_its_recorded_provenance_renders():
    shipped = np.asarray(style.load_style(None)[0] * 255, np.float32)
    rendered = np.asarray(style_image.render(), np.float32)
    assert shipped.shape == rendered.shape
    assert np.abs(shipped - rendered).mean() < 1.0  # grey levels; Pillow versions may round differently


def test_the_checkpoint_records_the_style_image_provenance_and_hash():
    _, record = style.load_style(None)
    assert record["file"] == "swirls.png" and len(record["sha256"]) == 64
    assert record["parameters"] == style_image.RENDER


def test_a_missing_style_image_is_named(tmp_path):
    with pytest.raises(UserInputError, match="nope.png"):
        style.load_style(tmp_path / "nope.png")


def test_stylize_photo_returns_the_input_size_for_sides_not_multiple_of_4():
    from visionrt.model_zoo.style import StyleTransformer

    model = StyleTransformer(width=4, blocks=1).eval()
    out = style.stylize_photo(model, np.random.default_rng(0).random((37, 51, 3), dtype=np.float32))
    assert out.shape == (37, 51, 3) and 0.0 <= out.min() and out.max() <= 1.0


def test_per_image_optimisation_lowers_the_training_objective():
    image = np.asarray(style_image.render(size=64, strokes=60), np.float32) / 255.0
    objective = style.Objective(image, 1.0, 1.0)
    content = np.full((32, 32, 3), 0.5, np.float32)
    content[8:24, 8:24] = 0.9
    before = float(objective(style_loss.to_tensor(content), style_loss.to_tensor(content))[0])
    optimized = style.optimize_image(objective, content, steps=30)
    after = float(objective(style_loss.to_tensor(optimized), style_loss.to_tensor(content))[0])
    assert after < before


@pytest.fixture(scope="module")
def tiny_style(tmp_path_factory):
    from visionrt.export import ExportOptions, export_checkpoint

    config = style.StyleTrainConfig.from_spec(steps=2, eval_every=2, width=4, blocks=1, batch_size=1, patch=32,
                                              optimization_steps=2, runs_dir=tmp_path_factory.mktemp("runs"),
                                              photos="bundled", content_weights=(1.0, 2.0),
                                              progress=False)
    run = style.train_style(config)
    repository = tmp_path_factory.mktemp("repository")
    return run, repository, export_checkpoint(run / "best.pt", ExportOptions(repository=repository))


def test_a_tiny_run_writes_metrics_against_both_bars_and_the_optimisation_reference(tiny_style):
    run, _, _ = tiny_style
    metrics = json.loads((run / "training.json").read_text())["test"]
    for key in ("gap_closed", "luminance_ssim", "style_floor", "content_distance"):
        assert np.isfinite(metrics[key])
    assert set(metrics["per_image_optimization"]["per_photo"]) <= set(metrics["test_photos"])
    assert set(metrics["weights_compared"]) == {"1.0", "2.0"} and metrics["content_weight"] in (1.0, 2.0)
    assert isinstance(metrics["meets_bars"], bool)
    assert all((run / picture).is_file() for picture in ("before_after.png", "loss_curve.png", "tradeoff.png"))


def test_export_keeps_instance_norm_fp32_and_has_dynamic_height_and_width(tiny_style):
    from visionrt import runtime

    _, repository, report = tiny_style
    assert any("norm" in node.lower() for node in report["fp32_nodes_in_fp16"])
    assert report["parity"]["fp16_vs_fp32"]["sets"]["whole_photo_batch1"]["psnr_db"] >= 40
    for precision in ("fp32", "fp16"):
        model = runtime.load(repository / "style", backend="onnxruntime:cpu", precision=precision)
        out = model.run(np.random.default_rng(0).random((2, 3, 52, 96)).astype(np.float32))
        assert out.shape == (2, 3, 52, 96) and 0 <= out.min() and out.max() <= 1


def test_stylize_returns_images_of_the_input_size(tiny_style):
    from PIL import Image

    from visionrt import runtime

    _, repository, _ = tiny_style
    model = runtime.load(repository / "style", backend="onnxruntime:cpu")
    odd = Image.fromarray((np.random.default_rng(0).random((37, 61, 3)) * 255).astype(np.uint8))
    outputs = model.stylize([odd, odd.convert("L"), np.zeros((9, 9, 3), np.float32)])
    assert [o.size for o in outputs] == [(61, 37), (61, 37), (9, 9)]
    assert all(o.mode == "RGB" for o in outputs)


def test_training_crops_skip_flat_regions_that_would_zero_instance_norm_variance():
    photo = np.zeros((64, 128, 3), np.float32)
    photo[:, 64:] = np.random.default_rng(0).random((64, 64, 3))  # left half black, right half texture
    patches = style.textured_patches([photo], 32, 16, np.random.default_rng(1))
    assert patches.shape == (32, 3, 16, 16) and (patches.std(axis=(1, 2, 3)) >= 0.03).all()
