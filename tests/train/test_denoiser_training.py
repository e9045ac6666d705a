"""The denoiser's data, noise model and a tiny training run with its export (dynamic height and width)."""

import json

import numpy as np
import pytest

from visionrt.train import denoiser, photos


def test_photos_are_split_by_photo_with_no_overlap():
    names = [name for part in photos.SPLIT.values() for name in part]
    assert len(names) == len(set(names))
    image = photos.load_photo("chelsea")
    assert image.shape == (300, 451, 3) and image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1


def test_patches_are_seeded_crops_of_the_requested_size():
    source = [np.random.default_rng(0).random((80, 90, 3)).astype(np.float32)]
    a = photos.random_patches(source, 5, 32, np.random.default_rng(1))
    b = photos.random_patches(source, 5, 32, np.random.default_rng(1))
    assert a.shape == (5, 3, 32, 32) and np.array_equal(a, b)


def test_noise_model_has_the_recorded_sigma_and_stays_in_range():
    clean = np.full((3, 200, 200), 0.5, np.float32)
    noisy = denoiser.add_noise(clean, np.random.default_rng(0))
    assert abs(float((noisy - clean).std()) - denoiser.NOISE["sigma"]) < 0.005
    assert noisy.min() >= 0 and noisy.max() <= 1


def test_psnr_of_known_errors():
    a = np.zeros((4, 4))
    assert denoiser.psnr(a, a + 0.1) == pytest.approx(20.0)
    assert denoiser.psnr(a, a + 0.01) == pytest.approx(40.0)


@pytest.fixture(scope="module")
def tiny_denoiser(tmp_path_factory):
    pytest.importorskip("torch")
    from visionrt.export import ExportOptions, export_checkpoint

    config = denoiser.DenoiserTrainConfig.from_spec(steps=3, eval_every=3, width=4, batch_size=2, patch=32,
                                                    runs_dir=tmp_path_factory.mktemp("runs"), progress=False)
    run = denoiser.train_denoiser(config)
    repository = tmp_path_factory.mktemp("repository")
    return run, repository, export_checkpoint(run / "best.pt", ExportOptions(repository=repository))


def test_training_writes_metrics_against_the_noisy_input_and_the_filters(tiny_denoiser):
    run, _, _ = tiny_denoiser
    metrics = json.loads((run / "training.json").read_text())["test"]
    assert metrics["test_photos"] == ["chelsea", "coffee"]
    assert 19 < metrics["noisy_psnr_db"] < 22
    assert metrics["best_filter_psnr_db"] > metrics["noisy_psnr_db"] + 5  # the filters are real baselines
    assert set(metrics["filters"]) == {"gaussian", "median"}
    assert (run / "before_after.png").is_file()


@pytest.mark.parametrize("height, width", [(16, 16), (52, 96), (300, 452)])
def test_export_has_dynamic_height_and_width(tiny_denoiser, height, width):
    from visionrt import runtime

    _, repository, report = tiny_denoiser
    for precision in ("fp32", "fp16"):
        model = runtime.load(repository / "denoiser", backend="onnxruntime:cpu", precision=precision)
        out = model.run(np.random.default_rng(0).random((1, 3, height, width)).astype(np.float32))
        assert out.shape == (1, 3, height, width) and 0 <= out.min() and out.max() <= 1
    assert report["parity"]["fp16_vs_fp32"]["sets"]["whole_photo_batch1"]["psnr_db"] >= 40


def test_denoise_returns_images_of_the_input_size_for_any_size(tiny_denoiser):
    from PIL import Image

    from visionrt import runtime

    _, repository, _ = tiny_denoiser
    model = runtime.load(repository / "denoiser", backend="onnxruntime:cpu")
    odd = Image.fromarray((np.random.default_rng(0).random((37, 61, 3)) * 255).astype(np.uint8))
    outputs = model.denoise([odd, odd.convert("L"), np.zeros((20, 20, 3), np.uint8)])
    assert [o.size for o in outputs] == [(61, 37), (61, 37), (20, 20)]
    assert all(o.mode == "RGB" for o in outputs)
