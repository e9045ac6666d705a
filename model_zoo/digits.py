"""CNN for 8x8 digits, after pytorch/examples mnist: conv 32, conv 64, max-pool, dropout, FC 128, FC 10.

On 8x8 inputs the convolutions use padding=1 and there is a single pool, so the feature map stays 4x4.
Export-safe by construction: ``flatten`` rather than ``view``, no random ops in eval mode, logits out
(softmax happens in the runtime).
"""

import torch
from torch import nn


class DigitsCNN(nn.Module):
    def __init__(self, width: int = 32, num_classes: int = 10, dropout: float = 0.25):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # (B, 2w, 4, 4)
            nn.Dropout(dropout),
        )
        self.classifier = nn.Sequential(
            nn.Linear(2 * width * 4 * 4, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(2 * dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(image), 1))
