"""Fast neural style: Johnson et al. (2016)'s feed-forward transformer, scaled down for CPU training.

The layout follows pytorch/examples' transformer_net: reflect-padded convolutions, instance norm, residual
blocks at quarter resolution, and nearest upsample + conv on the way back (no transposed convs, so no
checkerboard and no asymmetric pads in the ONNX). Channel widths are half of Johnson's by default (16/32/64
instead of 32/64/128), a quarter of the compute. Input and output are RGB in [0, 1], (N, 3, H, W) with H
and W multiples of 4: inputs in [0, 1] keep FP16 instance norm far from overflow (the FP16 ONNX keeps it
FP32 anyway). The output goes through a sigmoid, so it is a valid image without clipping.
"""

import torch
from torch import nn


class ConvLayer(nn.Sequential):
    """Reflect pad + conv (+ instance norm + ReLU): the unit every stage is built from."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: bool = True):
        layers = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(ConvLayer(channels, channels, 3),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StyleTransformer(nn.Module):
    def __init__(self, width: int = 16, blocks: int = 5):
        super().__init__()
        self.down = nn.Sequential(ConvLayer(3, width, 9), ConvLayer(width, 2 * width, 3, 2),
                                  ConvLayer(2 * width, 4 * width, 3, 2))
        self.residual = nn.Sequential(*[ResidualBlock(4 * width) for _ in range(blocks)])
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(4 * width, 2 * width, 3),
                                nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(2 * width, width, 3),
                                ConvLayer(width, 3, 9, norm=False))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(self.residual(self.down(image))))
