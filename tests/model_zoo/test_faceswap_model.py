"""The face-swap network: a decoder draws a face and its mask, and the swap keeps the input outside it."""

import pytest

torch = pytest.importorskip("torch")

from visionrt.model_zoo.faceswap import FaceSwap, SwapTo, blend  # noqa: E402


def test_blend_takes_the_input_where_the_mask_is_off_and_the_drawing_where_it_is_on():
    image = torch.rand(2, 3, 8, 8)
    drawn = torch.rand(2, 4, 8, 8)
    drawn[:, 3, :, :4], drawn[:, 3, :, 4:] = 0.0, 1.0
    out = blend(image, drawn)
    assert torch.equal(out[..., :4], image[..., :4])
    assert torch.equal(out[..., 4:], drawn[:, :3, :, 4:])


def test_both_directions_share_the_encoder_and_return_an_image_of_the_input_size():
    model = FaceSwap(width=4, bottleneck=8).eval()
    image = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        to_a, to_b = model(image, "a"), model(image, "b")
    assert to_a.shape == to_b.shape == image.shape and not torch.equal(to_a, to_b)
    exported = SwapTo(width=4, bottleneck=8).eval()
    exported.encoder.load_state_dict(model.encoder.state_dict())
    exported.decoder.load_state_dict(model.decoder_b.state_dict())
    with torch.no_grad():
        assert torch.allclose(exported(image), to_b)
