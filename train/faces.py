"""A procedural face renderer with two identities and independent expression, pose, lighting and
background, so that every face swap has an exact ground truth: identity B rendered with A's parameters.

No two real identities with enough faces ship offline, and real data has no pixel ground truth for a
cross-identity swap anyway; this renderer makes the swap measurable. Nothing here says anything about real
faces. Drawn with Pillow at 4x and downsampled (antialiased), 64x64 RGB in [0, 1].
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
SUPER = 4  # supersampling factor


@dataclass(frozen=True)
class Identity:
    """What makes a person: fixed shapes and colours."""

    face_aspect: float  # height / width of the face ellipse
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_height: float  # how far the hair comes down the forehead (0..1 of the face height)
    eye_color: tuple[int, int, int]
    eye_spacing: float  # in face widths
    nose_length: float
    brow_thickness: int


IDENTITIES = {
    "a": Identity(1.10, (236, 196, 170), (60, 40, 30), 0.28, (70, 110, 170), 0.36, 0.14, 3),
    "b": Identity(1.38, (150, 100, 70), (215, 170, 60), 0.40, (60, 120, 60), 0.28, 0.24, 6),
}


@dataclass(frozen=True)
class Params:
    """Everything that changes between photos of the same person."""

    smile: float  # -1 frown .. 1 smile
    eye_open: float  # 0.15 .. 1
    gaze: float  # -1 .. 1, pupils left to right
    dx: float  # face position, pixels at 64x64
    dy: float
    angle: float  # degrees, in-plane rotation
    turn: float  # -1 .. 1, features shifted sideways (a cheap yaw)
    light_angle: float  # radians, direction the light comes from
    light: float  # 0.65 .. 1.2, brightness
    background: tuple[int, int, int]


def random_params(rng: np.random.Generator) -> Params:
    return Params(
        smile=float(rng.uniform(-1, 1)), eye_open=float(rng.uniform(0.15, 1.0)), gaze=float(rng.uniform(-1, 1)),
        dx=float(rng.uniform(-5, 5)), dy=float(rng.uniform(-4, 4)), angle=float(rng.uniform(-15, 15)),
        turn=float(rng.uniform(-1, 1)), light_angle=float(rng.uniform(0, 2 * np.pi)),
        light=float(rng.uniform(0.65, 1.2)), background=tuple(int(v) for v in rng.integers(0, 256, 3)),
    )


def _face_layer(who: Identity, p: Params) -> Image.Image:
    """The face on a transparent canvas, upright and centred, at supersampled size."""
    s = SIZE * SUPER
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width = 0.56 * s
    height = min(0.9 * s, width * who.face_aspect)
    cx, cy = s / 2, s / 2 + 0.03 * s
    left, top, right, bottom = cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2
    draw.ellipse([left - 0.06 * s, top - 0.08 * s, right + 0.06 * s, cy + 0.1 * s], fill=who.hair + (255,))  # hair
    draw.ellipse([left, top, right, bottom], fill=who.skin + (255,))
    draw.chord([left, top - 0.02 * s, right, top + 2 * who.hair_height * height], 180, 360, fill=who.hair + (255,))
    shift = p.turn * 0.08 * width  # features slide sideways as the head turns
    eye_y = top + 0.45 * height
    for side in (-1, 1):
        ex = cx + shift + side * who.eye_spacing * width
        ew, eh = 0.11 * width, 0.07 * width * p.eye_open
        draw.ellipse([ex - ew, eye_y - eh, ex + ew, eye_y + eh], fill=(250, 250, 250, 255))
        iris = min(eh, 0.055 * width)
        ix = ex + p.gaze * 0.04 * width
        draw.ellipse([ix - iris, eye_y - iris, ix + iris, eye_y + iris], fill=who.eye_color + (255,))
        brow_y = eye_y - 0.1 * width - 0.02 * width * p.smile
        draw.line([ex - ew, brow_y + side * 0.01 * width * p.smile, ex + ew, brow_y], fill=who.hair + (255,),
                  width=who.brow_thickness * SUPER // 2)
    nose_top, nose_bottom = eye_y + 0.06 * height, eye_y + (0.06 + who.nose_length) * height
    darker = tuple(int(c * 0.8) for c in who.skin) + (255,)
    draw.polygon([(cx + shift, nose_top), (cx + shift - 0.05 * width, nose_bottom),
                  (cx + shift + 0.05 * width, nose_bottom)], fill=darker)
    mouth_y, half = top + 0.78 * height, 0.17 * width
    xs = np.linspace(-1, 1, 25)
    points = [(cx + shift + x * half, mouth_y - p.smile * 0.06 * width * (1 - x * x) + p.smile * 0.03 * width)
              for x in xs]
    draw.line(points, fill=(150, 40, 50, 255), width=3 * SUPER)
    return layer


def render_with_mask(who: Identity, p: Params) -> tuple[np.ndarray, np.ndarray]:
    """One (64, 64, 3) float32 image in [0, 1] and the face's coverage, (64, 64) in [0, 1].

    The coverage is what a face-swap converter blends by (faceswap trains its mask on landmark hulls; here
    the renderer knows it exactly)."""
    s = SIZE * SUPER
    face = _face_layer(who, p).rotate(p.angle, resample=Image.Resampling.BICUBIC, center=(s / 2, s / 2),
                                      translate=(p.dx * SUPER, p.dy * SUPER))
    yy, xx = np.mgrid[0:s, 0:s] / s - 0.5
    shade = p.light * (1.0 + 0.35 * (np.cos(p.light_angle) * xx + np.sin(p.light_angle) * yy))
    rgba = np.asarray(face, dtype=np.float32) / 255.0
    lit = np.clip(rgba[..., :3] * shade[..., None], 0, 1)
    background = np.array(p.background, np.float32) / 255.0
    image = lit * rgba[..., 3:] + background * (1 - rgba[..., 3:])
    small = Image.fromarray(np.round(image * 255).astype(np.uint8)).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    coverage = Image.fromarray(rgba[..., 3]).resize((SIZE, SIZE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0, np.clip(np.asarray(coverage, dtype=np.float32), 0, 1)


def render(who: Identity, p: Params) -> np.ndarray:
    """One (64, 64, 3) float32 image in [0, 1]."""
    return render_with_mask(who, p)[0]


@dataclass(frozen=True)
class RenderedPairs:
    """The same parameter draws rendered as both identities: images (N, 3, 64, 64), masks (N, 1, 64, 64)."""

    a: np.ndarray
    b: np.ndarray
    mask_a: np.ndarray
    mask_b: np.ndarray
    params: list[Params]


def render_set(count: int, seed: int) -> RenderedPairs:
    rng = np.random.default_rng(seed)
    params = [random_params(rng) for _ in range(count)]
    found = {}
    for name in ("a", "b"):
        images, masks = zip(*(render_with_mask(IDENTITIES[name], p) for p in params))
        found[name] = np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))
        found[f"mask_{name}"] = np.ascontiguousarray(np.stack(masks)[:, None])
    return RenderedPairs(params=params, **found)


def render_pairs(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[Params]]:
    """``count`` parameter draws rendered as identity a and as identity b: (N, 3, 64, 64) each."""
    rendered = render_set(count, seed)
    return rendered.a, rendered.b, rendered.params
