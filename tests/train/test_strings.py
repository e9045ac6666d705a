"""Rendering digit strings: shape, determinism, and digits drawn only from the pool given."""

import numpy as np

from visionrt.train import strings


def pool():
    ink = np.zeros((10, 1, 8, 8), np.float32)
    for digit in range(10):
        ink[digit, 0, 1:7, 2:6] = (digit + 1) / 10  # each digit a distinct grey block
    return ink, np.arange(10)


def test_strings_have_fixed_height_width_multiple_of_4_and_ink_range():
    images, texts = strings.make_strings(*pool(), count=50, seed=0)
    for image, text in zip(images, texts):
        assert image.shape[0] == strings.HEIGHT and image.shape[1] % 4 == 0 and image.shape[1] >= 8
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert 1 <= len(text) <= 8 and text.isdigit()
    assert len({len(t) for t in texts}) > 4  # lengths vary


def test_rendering_is_seeded():
    a_images, a_texts = strings.make_strings(*pool(), count=5, seed=3)
    b_images, b_texts = strings.make_strings(*pool(), count=5, seed=3)
    assert a_texts == b_texts and all(np.array_equal(a, b) for a, b in zip(a_images, b_images))
    assert strings.make_strings(*pool(), count=5, seed=4)[1] != a_texts


def test_only_digits_from_the_given_pool_appear():
    ink, labels = pool()
    only = labels < 3
    _, texts = strings.make_strings(ink[only], labels[only], count=40, seed=0)
    assert set("".join(texts)) <= {"0", "1", "2"}


def test_longer_strings_are_wider():
    config = strings.RenderConfig(min_length=8, max_length=8)
    wide = strings.make_strings(*pool(), count=10, seed=0, config=config)[0]
    narrow = strings.make_strings(*pool(), count=10, seed=0, config=strings.RenderConfig(max_length=1))[0]
    assert min(i.shape[1] for i in wide) > max(i.shape[1] for i in narrow)


def test_stack_pads_with_background_on_the_right():
    batch = strings.stack_padded([np.ones((16, 8), np.float32), np.ones((16, 12), np.float32)])
    assert batch.shape == (2, 1, 16, 12)
    assert batch[0, 0, :, 8:].max() == 0.0 and batch[1].min() == 1.0
