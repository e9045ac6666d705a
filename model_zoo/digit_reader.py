"""CRNN text reader for strings of handwritten digits: conv features, a bidirectional LSTM over the width,
and a per-column classifier over 10 digits + the CTC blank (Shi et al., 2015, scaled down).

Input (N, 1, 16, W) ink, W a multiple of 4; output (N, W/4, 11) log-probabilities, blank last. The
convolutions shrink the height to 1 so that each of the W/4 columns becomes one LSTM step. Export-safe: no
random ops in eval mode, ``squeeze``/``permute`` rather than views with computed sizes.
"""

import torch
from torch import nn

BLANK = 10  # index of the CTC blank; digits 0-9 keep their own indices


def conv_block(cin: int, cout: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.MaxPool2d(pool))


class DigitReader(nn.Module):
    def __init__(self, width: int = 32, hidden: int = 128, num_classes: int = 11, dropout: float = 0.2):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(1, width, (2, 2)),  # (N, w, 8, W/2)
            conv_block(width, 2 * width, (2, 2)),  # (N, 2w, 4, W/4)
            conv_block(2 * width, 3 * width, (4, 1)),  # (N, 3w, 1, W/4)
            nn.Dropout(dropout),
        )
        self.rnn = nn.LSTM(3 * width, hidden, bidirectional=True, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        columns = self.features(image).squeeze(2).permute(0, 2, 1)  # (N, T, C), T = W/4
        sequence, _ = self.rnn(columns)  # (N, T, 2 * hidden)
        return torch.log_softmax(self.classifier(self.dropout(sequence)), dim=-1)  # (N, T, 11)
