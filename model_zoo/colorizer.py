"""Automatic colorization: lightness L in, chroma ab out (Lab colour space), the conversion done outside
the network in float32 numpy.

Two heads, measured against each other (the model card holds the figures): ``regression`` predicts ab
directly (squared error); ``classification`` follows Zhang et al. (2016): logits over ab bins recomputed from
our training photos, decoded by the annealed mean inside the graph: softmax(logits / T) over the bins, then the
mean of the bin centres it weights. Softmax, not exp(q / T): the latter overflows in FP16. Input L / 100 in
[0, 1]; output ab / 100; sides multiples of 4.

``chroma`` scales the predicted ab towards gray. With the temperature it is the decode, chosen on validation
photos after training: on photos unlike the training set a confident wrong colour costs more PSNR than gray does,
so the decode is tuned to do no harm first (see train/colorizer.py).
"""

import torch
from torch import nn

from visionrt.model_zoo.denoiser import double_conv


class Colorizer(nn.Module):
    def __init__(self, width: int = 24, head: str = "regression", bins: int = 0, temperature: float = 0.38,
                 chroma: float = 1.0):
        super().__init__()
        if head not in ("regression", "classification"):
            raise ValueError(f"head must be regression or classification, got {head}")
        self.head, self.temperature, self.chroma = head, temperature, chroma
        self.enc1 = double_conv(1, width)
        self.enc2 = double_conv(width, 2 * width)
        self.bottleneck = double_conv(2 * width, 4 * width)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec2 = double_conv(6 * width, 2 * width)
        self.dec1 = double_conv(3 * width, width)
        self.out = nn.Conv2d(width, 2 if head == "regression" else bins, 1)
        # ab/100 bin centres as a (2, bins, 1, 1) conv weight; filled from the training data
        self.register_buffer("centres", torch.zeros(2, max(bins, 1), 1, 1))

    def logits(self, lightness: torch.Tensor) -> torch.Tensor:
        skip1 = self.enc1(lightness)
        skip2 = self.enc2(self.pool(skip1))
        code = self.bottleneck(self.pool(skip2))
        x = self.dec2(torch.cat([self.up(code), skip2], dim=1))
        return self.out(self.dec1(torch.cat([self.up(x), skip1], dim=1)))

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        scores = self.logits(lightness)
        if self.head == "regression":
            return scores if self.chroma == 1.0 else scores * self.chroma
        # Channels last for the softmax: over axis 1 of NCHW, ONNX Runtime's CPU kernel spent 82% of the
        # graph's time on it at 256 px (a strided reduction per pixel); over the last axis it is contiguous in
        # every engine. The annealed mean is then a matrix product with the (bins, 2) centres.
        probabilities = torch.softmax(scores.permute(0, 2, 3, 1) / self.temperature, dim=-1)
        ab = (probabilities @ self.centres[:, :, 0, 0].T).permute(0, 3, 1, 2)
        return ab if self.chroma == 1.0 else ab * self.chroma
