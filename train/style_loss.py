"""Style and content losses without a pretrained network: fixed, seeded, random convolutional features.

No pretrained VGG can be downloaded here. Random filters carry Gram-matrix texture statistics
(Ustyuzhaninov et al. 2017; He, Wang & Hopcroft 2016) once each layer's loss is normalised by the size of its
target, which this module does. What transfers is colour, texture and stroke statistics, not object-aware
stylisation. Two networks are defined: the one training uses, and a *judge* with another seed, other kernel
sizes, widths and pooling, which training never sees and in which the quality bar is measured.
"""

from dataclasses import dataclass

import numpy as np

from visionrt.extras import require

torch = require("torch", "train")
nn = torch.nn


@dataclass(frozen=True)
class FeatureSpec:
    seed: int
    widths: tuple[int, ...]  # channels per scale; each scale halves the resolution
    kernel: int
    pool: str  # "avg" or "max"
    content_layer: int  # index of the layer whose activations the content loss compares


TRAINING_FEATURES = FeatureSpec(seed=1234, widths=(32, 64, 128, 256), kernel=3, pool="avg", content_layer=1)
JUDGE_FEATURES = FeatureSpec(seed=98765, widths=(48, 96, 192), kernel=5, pool="max", content_layer=1)

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class RandomFeatures(nn.Module):
    """Conv + ReLU per scale with He-initialised weights drawn from ``spec.seed``; frozen."""

    def __init__(self, spec: FeatureSpec):
        super().__init__()
        generator = torch.Generator().manual_seed(spec.seed)
        layers, cin = [], 3
        for cout in spec.widths:
            conv = nn.Conv2d(cin, cout, spec.kernel, padding=spec.kernel // 2, padding_mode="reflect")
            fan_in = cin * spec.kernel**2
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
                conv.bias.zero_()
            layers.append(conv)
            cin = cout
        self.convs = nn.ModuleList(layers)
        self.pool = nn.AvgPool2d(2) if spec.pool == "avg" else nn.MaxPool2d(2)
        self.spec = spec
        self.requires_grad_(False)
        self.eval()

    def forward(self, rgb01: torch.Tensor) -> list[torch.Tensor]:
        x, features = (rgb01 - MEAN) / STD, []
        for index, conv in enumerate(self.convs):
            if index:
                x = self.pool(x)
            x = torch.relu(conv(x))
            features.append(x)
        return features


def gram(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C), averaged over positions so that image size does not matter."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def style_targets(net: RandomFeatures, style: torch.Tensor) -> list[torch.Tensor]:
    """Gram matrices of the style image (1, 3, H, W), one per layer."""
    with torch.no_grad():
        return [gram(f) for f in net(style)]


def style_loss(features: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of squared Gram distance, each normalised by its target's squared norm (per-layer
    normalisation is what makes random features usable: otherwise one layer's scale swamps the rest)."""
    total = 0.0
    for f, target in zip(features, targets):
        total = total + ((gram(f) - target) ** 2).sum((1, 2)).mean() / (target**2).sum()
    return total


def content_loss(features: list[torch.Tensor], content: list[torch.Tensor], layer: int) -> torch.Tensor:
    """Squared feature distance relative to the content's feature energy (floored, so that a black crop
    cannot divide by zero)."""
    energy = (content[layer] ** 2).mean().clamp_min(1e-2)
    return ((features[layer] - content[layer]) ** 2).mean() / energy


# --- the quality bar, measured in the judge's feature space (numpy in, floats out) -------------------------

def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float RGB in [0, 1] -> (1, 3, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))[None]


def gram_distance(net: RandomFeatures, image: np.ndarray, reference: np.ndarray) -> float:
    """Mean over layers of the relative Frobenius distance between Gram matrices."""
    with torch.no_grad():
        ours, theirs = net(to_tensor(image)), net(to_tensor(reference))
    distances = [float(torch.linalg.norm(gram(a) - gram(b)) / torch.linalg.norm(gram(b))) for a, b in zip(ours, theirs)]
    return float(np.mean(distances))


def style_crops(style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two non-overlapping halves of the style image (left, right): the reference and the floor's partner."""
    half = style.shape[1] // 2
    return style[:, :half], style[:, half : 2 * half]


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def luminance_ssim(a: np.ndarray, b: np.ndarray) -> float:
    ssim = require("skimage.metrics", "train").structural_similarity
    return float(ssim(luminance(a), luminance(b), data_range=1.0))


def judge(content: np.ndarray, stylized: np.ndarray, style: np.ndarray, net: RandomFeatures | None = None) -> dict:
    """How far stylisation moved ``content`` towards ``style`` in the judge's space, and how much of the
    content survived. ``gap_closed`` is 0 for the unchanged content and 1 at the style floor (the distance
    between two crops of the style image itself)."""
    net = net or RandomFeatures(JUDGE_FEATURES)
    reference, partner = style_crops(style)
    floor = gram_distance(net, partner, reference)
    before = gram_distance(net, content, reference)
    after = gram_distance(net, stylized, reference)
    return {"content_distance": before, "stylized_distance": after, "style_floor": floor,
            "gap_closed": (before - after) / (before - floor), "luminance_ssim": luminance_ssim(content, stylized)}
