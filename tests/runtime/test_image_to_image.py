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


def test_guided_tiles_take_their_palette_from_the_whole_image():
    """A stand-in for instance norm: each call normalizes its input by its own mean and spread, so plain tiles
    disagree in level; guided tiles must match the whole-image result's low frequencies and blend smoothly."""
    from visionrt.runtime.tasks.image_to_image import run_guided

    def normalize(batch):
        return (batch - batch.mean(axis=(2, 3), keepdims=True)) / (batch.std(axis=(2, 3), keepdims=True) + 1e-6)

    y, x = np.mgrid[0:600, 0:900].astype(np.float32)
    image = np.stack([x / 900, y / 600, (x + y) / 1500], -1)  # gradients: every tile has another mean
    whole = normalize(image.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    plain = run_tiled(normalize, image, tile=256, margin=32)
    guided = run_guided(normalize, image, tile=256, margin=32, guide_side=900, multiple=4)
    jump = lambda out: np.abs(np.diff(out.mean(-1), axis=1)).max()  # noqa: E731
    assert jump(plain) > 20 * jump(whole)  # the failure this guards against
    assert jump(guided) < 3 * jump(whole)
    assert np.abs(guided - whole).mean() < 0.05 * np.abs(whole).mean()


def test_a_3000x2000_photo_stylizes_and_denoises_without_seams():
    """The largest column-to-column jump of the output, anywhere, stays near the typical one: tiles of the
    style network used to flip palette every 448 px (jumps of 48 grey levels against a median of 1.1)."""
    from PIL import Image

    from visionrt import model_zoo, runtime

    photo = Image.open(model_zoo.samples_dir("style") / "chelsea.png").convert("RGB").resize((3000, 2000),
                                                                                          Image.Resampling.BICUBIC)
    for name, method in (("style", "stylize"), ("denoiser", "denoise")):
        out = np.asarray(getattr(runtime.load(name, backend="onnxruntime:cpu"), method)(photo), np.float32).mean(-1)
        columns, rows = np.abs(np.diff(out, axis=1)).mean(0), np.abs(np.diff(out, axis=0)).mean(1)
        for jumps in (columns, rows):
            assert jumps.max() < 6 * np.median(jumps), (name, float(jumps.max()), float(np.median(jumps)))


def test_style_on_an_image_within_its_range_is_one_whole_pass_and_a_thin_one_still_runs():
    from PIL import Image

    from visionrt import model_zoo, runtime

    photo = Image.open(model_zoo.samples_dir("style") / "chelsea.png").convert("RGB").resize((800, 600))
    tiled, whole = runtime.load("style", backend="onnxruntime:cpu"), runtime.load("style", backend="onnxruntime:cpu")
    whole.tile = 1024  # runs whole without the guided path
    assert np.array_equal(np.asarray(tiled.stylize(photo)), np.asarray(whole.stylize(photo)))
    assert tiled.stylize(photo.resize((2600, 40))).size == (2600, 40)  # its reduced pass kept >= 16 px high
