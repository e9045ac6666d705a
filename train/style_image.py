"""The zoo's default style image: a procedural painting of swirling brush strokes, rendered here.

No painting ships offline with the libraries we may use, and a style image must come with its provenance,
so the default one is drawn by this module (numpy and Pillow, seeded) and committed beside the model with
the parameters that made it. It has what a style loss can see: a small palette of blues and yellows, thick
strokes that follow a swirling flow field, and dark outlines. ``visionrt train style --style PATH`` trains
towards any other image instead.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PALETTE = ((18, 32, 92), (38, 78, 168), (104, 156, 214), (236, 196, 58), (250, 234, 150), (22, 40, 34))
RENDER = {"size": 384, "super": 2, "strokes": 2600, "seed": 7}


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled bicubically."""
    coarse = (rng.random((cells, cells)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255.0


def flow_angle(rng: np.random.Generator, size: int) -> np.ndarray:
    """Stroke direction per pixel: a few plane waves plus whirlpools around random centres."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = np.zeros((size, size), np.float32)
    for _ in range(3):
        fx, fy, phase = rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(0, 2 * np.pi)
        angle += 0.6 * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
    for _ in range(4):
        cx, cy, radius = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.08, 0.2)
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        tangent = np.arctan2(y - cy, x - cx) + np.pi / 2
        angle = angle * (1 - weight) + tangent * weight
    return angle


def colour_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """Index into PALETTE per pixel, from smooth noise, so colours come in regions rather than speckle."""
    noise = 0.7 * smooth_noise(rng, size, 5) + 0.3 * smooth_noise(rng, size, 11)
    ranks = np.argsort(np.argsort(noise.ravel())).reshape(size, size) / noise.size  # uniform over [0, 1)
    return np.minimum((ranks * len(PALETTE)).astype(int), len(PALETTE) - 1)


def render(size: int = RENDER["size"], supersample: int = RENDER["super"], strokes: int = RENDER["strokes"],
           seed: int = RENDER["seed"]) -> Image.Image:
    """The style image as a PIL RGB image of ``size`` x ``size`` pixels."""
    rng = np.random.default_rng(seed)
    big = size * supersample
    angle, colours = flow_angle(rng, big), colour_field(rng, big)
    base = np.asarray(PALETTE, np.uint8)[colours]
    canvas = Image.fromarray(base).filter(ImageFilter.GaussianBlur(4 * supersample))
    draw = ImageDraw.Draw(canvas)
    step, width = 3.0 * supersample, 3 * supersample
    for _ in range(strokes):
        x, y = rng.uniform(0, big), rng.uniform(0, big)
        points = [(x, y)]
        for _ in range(int(rng.integers(6, 16))):
            a = angle[int(y) % big, int(x) % big]
            x, y = x + step * np.cos(a), y + step * np.sin(a)
            points.append((x, y))
        tone = np.asarray(PALETTE[colours[int(points[0][1]) % big, int(points[0][0]) % big]], np.float32)
        tone = np.clip(tone * rng.uniform(0.8, 1.2), 0, 255).astype(int)
        stroke = int(width * rng.uniform(0.7, 1.6))
        draw.line(points, fill=tuple(int(v * 0.45) for v in tone), width=stroke + 2 * supersample, joint="curve")
        draw.line(points, fill=tuple(int(v) for v in tone), width=stroke, joint="curve")
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def provenance() -> dict:
    return {"source": "procedural, rendered by visionrt.train.style_image.render", "parameters": dict(RENDER),
            "palette": [list(c) for c in PALETTE], "license": "same as visionrt (generated, no third-party content)"}
