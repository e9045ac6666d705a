"""Helpers the serve tests share: seeded example inputs and the runtime's own answers for them."""

import numpy as np

from visionrt import model_zoo

MODELS = [name for name in model_zoo.names() if model_zoo.installed(name)]


def example(model, batch: int = 2, seed: int = 0) -> np.ndarray:
    """A seeded batch at the artifact's typical size: values in [0, 1), the range every zoo input takes."""
    spec = model.inputs[0]
    profile = model.profile
    shape = [batch, *profile.opt[1:]] if profile is not None else [batch, *(d or 32 for d in spec.shape[1:])]
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def outputs_of(model, x) -> dict[str, np.ndarray]:
    result = model.run(x)
    return result if isinstance(result, dict) else {model.outputs[0].name: result}


def free_options(**overrides):
    """ServeOptions on free loopback ports."""
    from visionrt.serve import ServeOptions

    return ServeOptions(**{"http_port": 0, "grpc_port": 0, "metrics_port": 0, **overrides})
