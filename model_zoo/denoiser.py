"""Convolutional denoising autoencoder: an encoder that halves the resolution twice down to a bottleneck,
a decoder that doubles it back (nearest upsample + conv, never transposed convs with asymmetric padding),
and skip connections at full and half resolution, after the U-Net pattern.

Plain bottleneck autoencoders (keras-io's conv32-pool-conv32-pool) blur: detail that is not in the
bottleneck cannot come back. The skips carry it, and the network predicts the noise to subtract
(residual learning, as DnCNN), which is easier than predicting the clean image. Input and output are RGB
in [0, 1], (N, 3, H, W) with H and W multiples of 4 (the runtime pads and crops).
"""

import torch
from torch import nn


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class DenoisingAutoencoder(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        self.enc1 = double_conv(3, width)  # (N, w, H, W)
        self.enc2 = double_conv(width, 2 * width)  # (N, 2w, H/2, W/2)
        self.bottleneck = double_conv(2 * width, 2 * width)  # (N, 2w, H/4, W/4)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec2 = double_conv(4 * width, 2 * width)
        self.dec1 = double_conv(3 * width, width)
        self.noise = nn.Conv2d(width, 3, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skip1 = self.enc1(image)
        skip2 = self.enc2(self.pool(skip1))
        code = self.bottleneck(self.pool(skip2))
        x = self.dec2(torch.cat([self.up(code), skip2], dim=1))
        x = self.dec1(torch.cat([self.up(x), skip1], dim=1))
        return torch.clamp(image - self.noise(x), 0.0, 1.0)
