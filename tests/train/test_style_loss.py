"""The random-feature style loss and the judge that measures the bar in a space training never used."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from visionrt.train import photos, style_image, style_loss  # noqa: E402


@pytest.fixture(scope="module")
def style():
    return np.asarray(style_image.render(size=128, strokes=300), np.float32) / 255.0


def test_the_judge_differs_from_the_training_network_in_seed_and_architecture():
    train, judge = style_loss.TRAINING_FEATURES, style_loss.JUDGE_FEATURES
    assert train.seed != judge.seed and train.kernel != judge.kernel and train.widths != judge.widths


def test_feature_networks_are_fixed_by_their_seed():
    a = style_loss.RandomFeatures(style_loss.TRAINING_FEATURES)
    b = style_loss.RandomFeatures(style_loss.TRAINING_FEATURES)
    assert all(torch.equal(x.weight, y.weight) for x, y in zip(a.convs, b.convs))
    assert not any(p.requires_grad for p in a.parameters())


def test_gram_is_independent_of_image_size_for_a_repeated_texture(style):
    net = style_loss.RandomFeatures(style_loss.TRAINING_FEATURES)
    tile = style_loss.to_tensor(style[:64, :64])
    tiled = tile.repeat(1, 1, 2, 2)
    small, large = style_loss.gram(net(tile)[0]), style_loss.gram(net(tiled)[0])
    assert float(torch.linalg.norm(small - large) / torch.linalg.norm(small)) < 0.05  # seams differ a little


def test_style_loss_is_zero_at_the_target_and_positive_elsewhere(style):
    net = style_loss.RandomFeatures(style_loss.TRAINING_FEATURES)
    targets = style_loss.style_targets(net, style_loss.to_tensor(style))
    assert float(style_loss.style_loss(net(style_loss.to_tensor(style)), targets)) < 1e-6
    photo = photos.load_photo("chelsea")[:128, :128]
    assert float(style_loss.style_loss(net(style_loss.to_tensor(photo)), targets)) > 0.01


def test_judge_scores_the_content_as_zero_and_the_style_itself_past_the_floor(style):
    photo = photos.load_photo("coffee")[:128, :64]  # the size of one style crop
    unchanged = style_loss.judge(photo, photo, style)
    assert unchanged["gap_closed"] == pytest.approx(0.0, abs=1e-9)
    assert unchanged["luminance_ssim"] == pytest.approx(1.0)
    _, partner = style_loss.style_crops(style)
    copied = style_loss.judge(photo, partner, style)
    assert copied["gap_closed"] == pytest.approx(1.0)
    assert copied["luminance_ssim"] < 0.5
