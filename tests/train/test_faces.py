"""The procedural face renderer: identities differ, parameters are shared, everything is seeded."""

import numpy as np

from visionrt.train import faces


def test_renders_are_64x64_rgb_in_unit_range_and_seeded():
    a, b, params = faces.render_pairs(3, seed=0)
    assert a.shape == b.shape == (3, 3, 64, 64) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    again, _, _ = faces.render_pairs(3, seed=0)
    assert np.array_equal(a, again)


def test_the_two_identities_differ_more_than_two_poses_of_one():
    a, b, _ = faces.render_pairs(20, seed=1)
    between = np.mean((a - b) ** 2)
    assert between > 0.005
    # same identity and same parameters render the same pixels
    p = faces.random_params(np.random.default_rng(2))
    assert np.array_equal(faces.render(faces.IDENTITIES["a"], p), faces.render(faces.IDENTITIES["a"], p))


def test_background_and_lighting_follow_the_parameters():
    p = faces.random_params(np.random.default_rng(3))
    image = faces.render(faces.IDENTITIES["b"], p)
    corner = image[0, 0] * 255
    assert np.abs(corner - np.array(p.background)).max() <= 2


def test_masks_cover_the_face_and_not_the_background():
    rendered = faces.render_set(8, seed=4)
    assert rendered.mask_a.shape == rendered.mask_b.shape == (8, 1, 64, 64)
    assert 0.0 <= rendered.mask_a.min() and rendered.mask_b.max() <= 1.0
    assert rendered.mask_a[:, :, 0, 0].max() == 0.0  # corners are background
    # where the mask is off, the pixels are the background colour of that draw (but for Lanczos ringing at the edge)
    for image, mask, p in zip(rendered.a, rendered.mask_a, rendered.params):
        outside = image[:, mask[0] == 0.0] * 255
        assert np.mean(np.abs(outside - np.array(p.background)[:, None]).max(0) <= 3) > 0.95
    # B's face is longer than A's: its mask covers more of the frame in the same pose
    assert rendered.mask_b.mean() > rendered.mask_a.mean() + 0.03
    again = faces.render_set(8, seed=4)
    assert np.array_equal(rendered.a, faces.render_pairs(8, seed=4)[0]) and np.array_equal(rendered.mask_b, again.mask_b)
