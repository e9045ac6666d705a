"""Beta-VAE for the 8x8 digits, as two graphs: an encoder image -> (mu, logvar) and a decoder z -> image.

Sampling stays outside both graphs (z = mu + sigma * eps is computed by the caller), so neither graph holds a
random op: TensorRT cannot build RandomNormalLike and ignores seeds. Images are ink in [0, 1], (N, 1, 8, 8).
"""

import torch
from torch import nn

LATENT = 8


class Encoder(nn.Module):
    def __init__(self, latent: int = LATENT, hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, hidden // 2), nn.ReLU(inplace=True))
        self.mu = nn.Linear(hidden // 2, latent)
        self.logvar = nn.Linear(hidden // 2, latent)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(image)
        return self.mu(features), self.logvar(features)


class Decoder(nn.Module):
    def __init__(self, latent: int = LATENT, hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(latent, hidden // 2), nn.ReLU(inplace=True),
                                  nn.Linear(hidden // 2, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(z)).reshape(-1, 1, 8, 8)


class VAE(nn.Module):
    """Both halves, for training; export takes ``encoder`` and ``decoder`` separately."""

    def __init__(self, latent: int = LATENT, hidden: int = 256):
        super().__init__()
        self.encoder, self.decoder = Encoder(latent, hidden), Decoder(latent, hidden)

    def forward(self, image: torch.Tensor, noise: torch.Tensor):
        mu, logvar = self.encoder(image)
        return self.decoder(mu + torch.exp(0.5 * logvar) * noise), mu, logvar
