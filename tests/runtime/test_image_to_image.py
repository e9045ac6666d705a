"""Padding and tiling for image-to-image models: any size in, the same size out, no seams."""

import numpy as np
import pytest

from visionrt.runtime.tasks.image_to_image import pad_to_multiple, run_tiled, tile_starts


@pytest.mark.parametrize("height, width", [(5, 7), (16, 16), (33, 50), (300, 451)])
def test_padding_reaches_multiples_of_4_and_keeps_the_image_top_left(height, width):
    image = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    padded = pad_to_multiple(image, 4)
    assert padded.shape[0] % 4 == 0 and padded.shape[1] % 4 == 0 and min(padded.shape[:2]) >= 16
    np.testing.assert_array_equal(padded[:height, :width], image)


def test_tiles_cover_everything_with_overlap():
    starts = tile_starts(1000, 256, 32)
    assert starts[0] == 0 and starts[-1] == 1000 - 256
    assert all(b - a <= 256 - 64 for a, b in zip(starts, starts[1:]))
    assert tile_starts(200, 256, 32) == [0]


def test_tiled_equals_whole_for_an_operation_with_local_context():
    """A 5x5 box blur (reach 2 px) tiled with a 32 px margin must match running on the whole image."""
    def blur(batch):
        x = batch[0]
        padded = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="edge")
        out = sum(padded[:, i : i + x.shape[1], j : j + x.shape[2]] for i in range(5) for j in range(5)) / 25
        return out[None]

    image = np.random.default_rng(1).random((300, 520, 3)).astype(np.float32)
    whole = blur(image.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    tiled = run_tiled(blur, image, tile=128, margin=32)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
