"""The zoo's registry: one entry per model, readable without torch.

An entry names where the torch definition and the trainer live (as ``module:attribute`` strings, imported
only when needed), the model's task and I/O, and its training defaults. Adding a model means one module with
its definition and one ``register(ModelSpec(...))`` call here.
"""

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from visionrt.errors import UserInputError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str  # selects the runtime's task API, e.g. "classification" -> model.classify()
    summary: str
    architecture: str  # "module:Class" of the torch nn.Module, built with **arch_kwargs
    trainer: str  # "module:function" taking the model's train config and returning the run folder
    train_config: str  # "module:Class" of that config, built with Class.from_spec(**overrides)
    validation_data: str  # "module:function" mapping a checkpoint payload to real held-out network inputs
    samples: str  # "module:function" writing sample inputs for the demo: (payload, folder) -> list of paths
    input_name: str
    input_shape: tuple[int | None, ...]  # (C, H, W) for one image, None where dynamic; batch is always dynamic
    output_names: tuple[str, ...]
    max_batch_size: int = 64  # what Triton's config.pbtxt and the benchmark sweep declare
    baselines: str | None = None  # "module:function" measuring baselines on the same split: payload -> {name: value}
    # "module:function": payload -> real network inputs from the training split, for INT8 calibration;
    # defaults to the validation_data module's calibration_inputs
    calibration_data: str | None = None
    dynamic_axes: dict[int, str] = field(default_factory=dict)  # input axes besides batch that vary, e.g. {3: "width"}
    dynamic_ranges: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # (min, opt, max) per such axis
    bench_widths: tuple[int, ...] = ()  # for dynamic-width models: the width sweep the benchmark runs at batch 1
    bench_batches: tuple[int, ...] = (1, 8, 64)  # the default batch sweep
    # Square sizes the GPU check sweeps at batch 1 for fully convolutional models: at the 64-pixel validation
    # size a large GPU mostly waits on kernel launches, so only the sizes users deploy at show what FP16 does.
    bench_sizes: tuple[int, ...] = ()


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"model '{spec.name}' is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserInputError(f"unknown zoo model '{name}'; known models: {', '.join(names())}") from None


def calibration_source(spec: ModelSpec) -> str:
    """Where ``spec``'s INT8 calibration inputs come from: its own entry, or its trainer's calibration_inputs."""
    return spec.calibration_data or spec.validation_data.partition(":")[0] + ":calibration_inputs"


def resolve(target: str) -> Any:
    """Import a ``module:attribute`` string from a spec (this is where torch gets imported)."""
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


register(
    ModelSpec(
        name="digits",
        task="classification",
        summary="CNN handwritten-digit classifier (scikit-learn digits, 8x8 grayscale)",
        architecture="visionrt.model_zoo.digits:DigitsCNN",
        trainer="visionrt.train.digits:train_digits",
        train_config="visionrt.train.digits:DigitsTrainConfig",
        samples="visionrt.train.digits:write_samples",
        baselines="visionrt.train.digits:baselines",
        validation_data="visionrt.train.digits:validation_inputs",
        input_name="image",
        input_shape=(1, 8, 8),
        output_names=("logits",),
        max_batch_size=64,
    )
)

register(
    ModelSpec(
        name="digit_reader",
        task="text_recognition",
        summary="CRNN reader of handwritten digit strings (conv + BiLSTM + CTC), 16 px high, any width",
        architecture="visionrt.model_zoo.digit_reader:DigitReader",
        trainer="visionrt.train.digit_reader:train_digit_reader",
        train_config="visionrt.train.digit_reader:ReaderTrainConfig",
        validation_data="visionrt.train.digit_reader:validation_inputs",
        samples="visionrt.train.digit_reader:write_samples",
        input_name="image",
        input_shape=(1, 16, None),
        output_names=("log_probs",),
        max_batch_size=64,
        dynamic_axes={3: "width"},
        dynamic_ranges={3: (8, 128, 1024)},  # TensorRT profile: 1 to about 60 digits
        bench_widths=(32, 64, 128, 256),
    )
)

register(
    ModelSpec(
        name="denoiser",
        task="denoising",
        summary="Convolutional denoising autoencoder with skip connections (RGB, Gaussian noise sigma 0.1), any size",
        architecture="visionrt.model_zoo.denoiser:DenoisingAutoencoder",
        trainer="visionrt.train.denoiser:train_denoiser",
        train_config="visionrt.train.denoiser:DenoiserTrainConfig",
        validation_data="visionrt.train.denoiser:validation_inputs",
        samples="visionrt.train.denoiser:write_samples",
        input_name="image",
        input_shape=(3, None, None),
        output_names=("denoised",),
        max_batch_size=16,
        dynamic_axes={2: "height", 3: "width"},
        dynamic_ranges={2: (16, 256, 2048), 3: (16, 256, 2048)},
        bench_batches=(1, 4, 16),
        bench_sizes=(256, 512, 1024),
    )
)

# The VAE is two graphs (no random op in either); both come from one training run (train/vae.py).
for _part, _io in (("vae_encoder", ("image", (1, 8, 8), ("mu", "logvar"))),
                   ("vae_decoder", ("z", (8,), ("image",)))):
    register(
        ModelSpec(
            name=_part,
            task=_part,
            summary=f"Beta-VAE on the 8x8 digits, {_part.split('_')[1]} graph (latent 8, beta 1)",
            architecture=f"visionrt.model_zoo.vae:{_part.split('_')[1].capitalize()}",
            trainer="visionrt.train.vae:train_vae",
            train_config="visionrt.train.vae:VAETrainConfig",
            validation_data="visionrt.train.vae:validation_inputs",
            samples="visionrt.train.vae:write_samples",
            input_name=_io[0],
            input_shape=_io[1],
            output_names=_io[2],
            max_batch_size=256,
            bench_batches=(1, 16, 256),
            baselines="visionrt.train.vae:sample_quality" if _part == "vae_decoder" else None,
        )
    )

COMPOSITES = {"vae": ("vae_encoder", "vae_decoder")}  # one name loading several graphs in the runtime


def composite(name: str) -> tuple[str, ...] | None:
    return COMPOSITES.get(name)

register(
    ModelSpec(
        name="colorizer",
        task="colorization",
        summary="Automatic colorization: L to ab in Lab space (U-Net; head chosen on validation), any size",
        architecture="visionrt.model_zoo.colorizer:Colorizer",
        trainer="visionrt.train.colorizer:train_colorizer",
        train_config="visionrt.train.colorizer:ColorizerTrainConfig",
        validation_data="visionrt.train.colorizer:validation_inputs",
        samples="visionrt.train.colorizer:write_samples",
        input_name="lightness",
        input_shape=(1, None, None),
        output_names=("ab",),
        max_batch_size=16,
        dynamic_axes={2: "height", 3: "width"},
        dynamic_ranges={2: (16, 256, 1024), 3: (16, 256, 1024)},
        bench_batches=(1, 4, 16),
        bench_sizes=(256, 512, 1024),
    )
)

for _direction in ("a", "b"):
    register(
        ModelSpec(
            name=f"faceswap_to_{_direction}",
            task="face_swap",
            summary=f"Face swap to identity {_direction.upper()}: shared encoder + that identity's decoder, 64x64 RGB",
            architecture="visionrt.model_zoo.faceswap:SwapTo",
            trainer="visionrt.train.faceswap:train_faceswap",
            train_config="visionrt.train.faceswap:FaceSwapTrainConfig",
            validation_data="visionrt.train.faceswap:validation_inputs",
            samples="visionrt.train.faceswap:write_samples",
            input_name="image",
            input_shape=(3, 64, 64),
            output_names=("swapped",),
            max_batch_size=64,
            bench_batches=(1, 8, 64),
        )
    )

COMPOSITES["faceswap"] = ("faceswap_to_a", "faceswap_to_b")

register(
    ModelSpec(
        name="style",
        task="style_transfer",
        summary="Fast neural style (Johnson-style transformer, half width) towards a procedural swirl painting, any size",
        architecture="visionrt.model_zoo.style:StyleTransformer",
        trainer="visionrt.train.style:train_style",
        train_config="visionrt.train.style:StyleTrainConfig",
        validation_data="visionrt.train.style:validation_inputs",
        samples="visionrt.train.style:write_samples",
        input_name="image",
        input_shape=(3, None, None),
        output_names=("stylized",),
        max_batch_size=16,
        dynamic_axes={2: "height", 3: "width"},
        dynamic_ranges={2: (16, 256, 1024), 3: (16, 256, 1024)},
        bench_batches=(1, 4, 16),
        bench_sizes=(256, 512, 1024),
    )
)
