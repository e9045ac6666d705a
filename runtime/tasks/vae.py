"""The VAE task API over its two graphs: sample, encode, decode and reconstruct.

Randomness lives here, not in the graphs: sampling draws z from N(0, I) with numpy's seeded generator and
decodes it; ``reconstruct`` decodes the posterior mean.
"""

import numpy as np
from PIL import Image

from visionrt.errors import ArtifactError, UserInputError
from visionrt.runtime.model import Model
from visionrt.runtime.tasks import images


def ink_to_images(ink: np.ndarray) -> list[Image.Image]:
    """(N, 1, H, W) ink in [0, 1] -> dark-on-light grayscale images."""
    return [Image.fromarray(np.round(255.0 * (1.0 - x[0])).astype(np.uint8), mode="L") for x in ink]


class VAEEncoder(Model):
    def encode(self, inputs, ink: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """(mu, logvar), each (N, latent), for one image or a list (PIL, paths or arrays, any size); ``ink`` as
        for the digits classifier: "auto" turns light-on-dark digits over to the dark-on-light they were
        trained as."""
        items = [inputs] if images.is_single_image(inputs) else list(inputs)
        if not items:
            raise UserInputError("encode() got an empty list of images")
        step = self.metadata.max_batch_size
        outs = [self.run(images.prepare(items[i : i + step], self.metadata.preprocessing, ink,
                                        max_pixels=self.max_pixels)[0]) for i in range(0, len(items), step)]
        return np.concatenate([o["mu"] for o in outs]), np.concatenate([o["logvar"] for o in outs])


class VAEDecoder(Model):
    @property
    def latent(self) -> int:
        return self.inputs[0].shape[1]

    def decode_ink(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise UserInputError(f"z must have shape (N, {self.latent}) or ({self.latent},), got {z.shape}")
        step = self.metadata.max_batch_size
        return np.concatenate([self.run(np.ascontiguousarray(z[i : i + step])) for i in range(0, len(z), step)])

    def decode(self, z) -> list[Image.Image]:
        return ink_to_images(self.decode_ink(z))


class VAE:
    """Both graphs behind one object: ``runtime.load("vae")``."""

    def __init__(self, encoder: VAEEncoder, decoder: VAEDecoder):
        if not isinstance(encoder, VAEEncoder) or not isinstance(decoder, VAEDecoder):
            raise ArtifactError("a VAE needs a vae_encoder and a vae_decoder artifact")
        self.encoder, self.decoder = encoder, decoder
        self.latent = decoder.latent

    def sample(self, n: int, seed: int | None = None) -> list[Image.Image]:
        """``n`` images decoded from z ~ N(0, I); the same seed gives the same images."""
        if n < 1:
            raise UserInputError(f"sample() needs n >= 1, got {n}")
        z = np.random.default_rng(seed).standard_normal((n, self.latent)).astype(np.float32)
        return self.decoder.decode(z)

    def encode(self, inputs) -> tuple[np.ndarray, np.ndarray]:
        return self.encoder.encode(inputs)

    def decode(self, z) -> list[Image.Image]:
        return self.decoder.decode(z)

    def reconstruct(self, inputs):
        """Decode the posterior mean of each image, returned at that image's own size."""
        single = images.is_single_image(inputs)
        items = [inputs] if single else list(inputs)
        mu, _ = self.encode(items)
        sizes = [images.to_pil(item, self.encoder.max_pixels).size for item in items]
        out = [image.resize(size, Image.Resampling.BICUBIC) for image, size in zip(self.decode(mu), sizes)]
        return out[0] if single else out

    @property
    def reasons(self) -> list[str]:
        return [f"encoder: {r}" for r in self.encoder.reasons] + [f"decoder: {r}" for r in self.decoder.reasons]

    def describe(self) -> dict:
        return {"model": "vae", "encoder": self.encoder.describe(), "decoder": self.decoder.describe()}

    def __repr__(self) -> str:
        return f"<VAE latent {self.latent}: {self.encoder!r} + {self.decoder!r}>"
