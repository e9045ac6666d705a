"""Face swap after deepfakes/faceswap's "original" model, scaled down: one shared encoder (5x5 stride-2
convolutions, a dense bottleneck, a pixel-shuffle upscale) and one decoder per identity.

Training reconstructs each identity with its own decoder from a randomly warped input; a swap decodes
identity A's encoding with B's decoder. Each decoder also draws its face's mask (faceswap's "learn mask"),
and the swap blends the drawn face into the input by it, as faceswap's converter does: the decoder spends
its capacity on the face, not on reproducing the input's background. Exported as two graphs, image ->
swapped image, one per direction, blend included. 64x64 RGB in [0, 1].
"""

import torch
from torch import nn


def down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 5, stride=2, padding=2), nn.LeakyReLU(0.1, inplace=True))


def up(cin: int, cout: int) -> nn.Sequential:
    """Conv to 4x the channels, then PixelShuffle (DepthToSpace in ONNX): a learned 2x upscale."""
    return nn.Sequential(nn.Conv2d(cin, 4 * cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True), nn.PixelShuffle(2))


class Encoder(nn.Module):
    def __init__(self, width: int = 16, bottleneck: int = 128):
        super().__init__()
        self.channels = 6 * width
        self.convs = nn.Sequential(down(3, width), down(width, 2 * width), down(2 * width, 4 * width),
                                   down(4 * width, self.channels))  # (N, 6w, 4, 4)
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(16 * self.channels, bottleneck),
                                   nn.Linear(bottleneck, 16 * self.channels))
        self.upscale = up(self.channels, 4 * width)  # (N, 4w, 8, 8)

    def code(self, image: torch.Tensor) -> torch.Tensor:
        """The bottleneck vector (N, bottleneck): what training aligns between the identities."""
        return self.dense[1](self.dense[0](self.convs(image)))

    def expand(self, code: torch.Tensor) -> torch.Tensor:
        return self.upscale(self.dense[2](code).reshape(-1, self.channels, 4, 4))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.expand(self.code(image))


class Decoder(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(up(4 * width, 4 * width), up(4 * width, 2 * width), up(2 * width, width),
                                  nn.Conv2d(width, 4, 5, padding=2), nn.Sigmoid())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 4, 64, 64): the face in RGB and its mask, all in [0, 1]."""
        return self.body(features)


def blend(image: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    """The drawn face over the input where the decoder's mask says so, the input elsewhere."""
    mask = drawn[:, 3:]
    return mask * drawn[:, :3] + (1 - mask) * image


class FaceSwap(nn.Module):
    """Training module: the shared encoder and both decoders."""

    def __init__(self, width: int = 16, bottleneck: int = 128):
        super().__init__()
        self.encoder = Encoder(width, bottleneck)
        self.decoder_a, self.decoder_b = Decoder(width), Decoder(width)

    def forward(self, image: torch.Tensor, to: str) -> torch.Tensor:
        return blend(image, (self.decoder_a if to == "a" else self.decoder_b)(self.encoder(image)))


class SwapTo(nn.Module):
    """One exported direction: the encoder and one decoder, image in, image out."""

    def __init__(self, width: int = 16, bottleneck: int = 128):
        super().__init__()
        self.encoder, self.decoder = Encoder(width, bottleneck), Decoder(width)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return blend(image, self.decoder(self.encoder(image)))
