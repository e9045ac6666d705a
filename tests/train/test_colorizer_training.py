"""Colorizer pieces: ab bins from our photos, bin targets, the annealed mean, and a tiny run of both heads."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from visionrt.train import colorizer, photos  # noqa: E402


def test_bins_cover_the_training_colours_with_weights_averaging_one():
    train = [photos.load_photo("astronaut")[::8, ::8]]
    centres, weights, nearest = colorizer.ab_bins(train, grid=10.0, rebalance=0.5)
    assert 10 < len(centres) < 484 and centres.shape[1] == 2
    assert nearest.max() == len(centres) - 1
    ab = colorizer.lab_batch(train[0].transpose(2, 0, 1)[None].copy())[1]
    targets = colorizer.bin_targets(ab, 10.0, nearest)
    assert np.abs(centres[targets[0]] - ab[0].transpose(1, 2, 0) * 100).max() <= 5 * np.sqrt(2) + 1e-3


def test_annealed_mean_with_a_sharp_distribution_returns_that_bin_centre():
    from visionrt.model_zoo.colorizer import Colorizer

    model = Colorizer(width=4, head="classification", bins=3, temperature=0.38).eval()
    model.centres.copy_(torch.tensor([[0.1, 0.2, 0.3], [-0.1, 0.0, 0.1]])[:, :, None, None])
    logits = torch.zeros(1, 3, 4, 4)
    logits[:, 2] = 50.0
    with torch.no_grad():
        ab = torch.nn.functional.conv2d(torch.softmax(logits / 0.38, 1), model.centres)
    assert torch.allclose(ab[0, :, 0, 0], torch.tensor([0.3, 0.1]))


def test_a_tiny_run_compares_both_heads(tmp_path):
    config = colorizer.ColorizerTrainConfig.from_spec(steps=2, eval_every=2, width=4, batch_size=2, patch=32,
                                                      work_size=64, runs_dir=tmp_path, progress=False,
                                                      photos="bundled")
    run = colorizer.train_colorizer(config)
    metrics = json.loads((run / "training.json").read_text())["test"]
    assert set(metrics["heads_compared"]) == {"regression", "classification"}
    assert metrics["head"] in ("regression", "classification")
    assert metrics["gray_psnr_db"] > 15 and metrics["true_colorfulness"] > 10
    assert (run / "before_after.png").is_file()
