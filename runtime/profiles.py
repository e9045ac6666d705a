"""Shape ranges an artifact supports, derived from its metadata, for TensorRT optimization profiles and
for checking a request before it reaches an engine.

A TensorRT engine runs only shapes inside the profile it was built with. The range comes from the
metadata: the batch axis spans 1..max_batch_size, fixed axes are fixed, and every other dynamic axis
needs a recorded (min, opt, max) range under ``dynamic_ranges``.
"""

from dataclasses import dataclass

from visionrt.artifact import ArtifactMetadata
from visionrt.errors import ArtifactError, UserInputError

OPT_BATCH = 8  # the batch TensorRT tunes kernels for, within [1, max_batch_size]


@dataclass(frozen=True)
class Profile:
    input_name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    def check(self, shape: tuple[int, ...]) -> None:
        """Raise UserInputError naming the axis and the range when ``shape`` is outside the profile."""
        if len(shape) != len(self.min):
            raise UserInputError(f"input '{self.input_name}': rank {len(shape)} but the engine expects {len(self.min)}")
        for axis, (low, got, high) in enumerate(zip(self.min, shape, self.max)):
            if not low <= got <= high:
                raise UserInputError(
                    f"input '{self.input_name}': axis {axis} is {got}, outside the engine's profile [{low}, {high}] "
                    f"(shape {tuple(shape)}; profile min {self.min}, max {self.max}); rebuild the engine with a wider "
                    "range or split the batch")


def provider_shapes(profile: Profile) -> dict[str, str]:
    """The profile as ONNX Runtime's TensorRT provider options (also the keys of Triton's ONNX Runtime
    backend): ``trt_profile_min_shapes`` = "image:1x3x16x16", and opt and max alike. Without them the
    provider builds its engine for the shapes it has seen and builds again, inside a request, whenever an
    input falls outside them."""
    def text(shape: tuple[int, ...]) -> str:
        return f"{profile.input_name}:{'x'.join(str(size) for size in shape)}"

    return {"trt_profile_min_shapes": text(profile.min), "trt_profile_opt_shapes": text(profile.opt),
            "trt_profile_max_shapes": text(profile.max)}


def profile_from_metadata(meta: ArtifactMetadata) -> Profile:
    """(min, opt, max) input shapes with the batch axis first, from an artifact's visionrt metadata."""
    low, opt, high = [1], [min(OPT_BATCH, meta.max_batch_size)], [meta.max_batch_size]
    for axis, size in enumerate(meta.input.shape, start=1):
        if size is not None:
            low.append(size), opt.append(size), high.append(size)
            continue
        if axis not in meta.dynamic_ranges:
            raise ArtifactError(f"{meta.model}: input axis {axis} is dynamic but the metadata records no range for "
                                f"it (dynamic_ranges: {meta.dynamic_ranges}); re-export with the model's profile ranges")
        a, b, c = meta.dynamic_ranges[axis]
        low.append(a), opt.append(b), high.append(c)
    return Profile(meta.input.name, tuple(low), tuple(opt), tuple(high))
