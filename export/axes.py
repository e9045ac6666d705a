"""Dynamic axes of a user's model: which input axes may change size, over which range, and the shapes the export
is checked at.

The batch axis (0) is always dynamic, from 1 to the artifact's max batch size. Other axes are named by the user;
each gets a range [min, opt, max] whose opt is the example's size. Unless given, the range is half to twice the
example's size, in steps of the largest power of two (up to 32) that divides it, because a network that pools by
2**k takes only multiples of 2**k. The parity gates run at min, opt and max, so the range recorded in the
metadata, the Triton config and the TensorRT profile is a range that was checked.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from visionrt.artifact import LAYOUT_RANK
from visionrt.errors import UserInputError

AXIS_NAMES = {4: {0: "batch", 2: "height", 3: "width"}, 2: {0: "batch"}}
MAX_STEP = 32


@dataclass(frozen=True)
class Axis:
    index: int  # in the input tensor, batch first
    name: str
    low: int
    opt: int
    high: int


def layout_of(shape: Sequence[int]) -> str:
    """NCHW for images, NC for vectors: the two layouts the artifact contract knows."""
    for layout, rank in LAYOUT_RANK.items():
        if len(shape) == rank + 1:
            return layout
    raise UserInputError(f"the example input has shape {list(shape)}: visionrt artifacts take a batch of images "
                         f"(N, C, H, W) or of vectors (N, C)")


def default_range(size: int) -> tuple[int, int, int]:
    step = min(MAX_STEP, size & -size)
    low = max(step, -(-size // 2 // step) * step)
    return low, size, 2 * size


def parse(dynamic, input_name: str, shape: Sequence[int], max_batch_size: int) -> dict[int, Axis]:
    """The dynamic axes from the user's words: ``{"image": {0: "batch", 2: "height", 3: "width"}}``, the short
    ``{"image": [0, 2, 3]}`` or ``[0, 2, 3]``, and ``(name, min, max)`` in place of a name to set a range."""
    if isinstance(dynamic, Mapping) and input_name in dynamic:
        others = sorted(set(map(str, dynamic)) - {input_name})
        if others:
            raise UserInputError(f"dynamic names input(s) {others}, but the model's input is '{input_name}'")
        dynamic = dynamic[input_name]
    elif isinstance(dynamic, Mapping) and any(isinstance(key, str) for key in dynamic):
        raise UserInputError(f"dynamic names input(s) {sorted(map(str, dynamic))}, but the model's input is "
                             f"'{input_name}'")
    given = dict(dynamic) if isinstance(dynamic, Mapping) else {axis: None for axis in (dynamic or ())}
    names = AXIS_NAMES[len(shape)]
    axes = {0: Axis(0, "batch", 1, 1, max_batch_size)}
    for index, word in given.items():
        if not (isinstance(index, int) and index in names):
            raise UserInputError(f"dynamic axis {index!r} of input '{input_name}' {list(shape)}: the axes that may "
                                 f"change size are {sorted(names)} ({', '.join(names.values())}); channels stay fixed")
        if index == 0:
            continue
        name, low, opt, high = axis_words(word, names[index], shape[index], input_name)
        axes[index] = Axis(index, name, low, opt, high)
    return axes


def axis_words(word, default_name: str, size: int, input_name: str) -> tuple[str, int, int, int]:
    if word is None or isinstance(word, str):
        return (word or default_name, *default_range(size))
    if isinstance(word, Sequence) and len(word) == 3 and isinstance(word[0], str) \
            and all(isinstance(v, int) and v >= 1 for v in word[1:]) and word[1] <= size <= word[2]:
        return word[0], word[1], size, word[2]
    raise UserInputError(f"dynamic axis {default_name} of input '{input_name}': expected a name or "
                         f"(name, min, max) with min <= {size} (the example's size) <= max, got {word!r}")


def item_shape(shape: Sequence[int], axes: dict[int, Axis]) -> tuple[int | None, ...]:
    """The shape after the batch axis as the metadata records it: None where the axis is dynamic."""
    return tuple(None if index in axes else size for index, size in enumerate(shape) if index > 0)


def ranges(axes: dict[int, Axis]) -> dict[int, tuple[int, int, int]]:
    return {index: (axis.low, axis.opt, axis.high) for index, axis in axes.items() if index > 0}


def gate_sets(shape: Sequence[int], axes: dict[int, Axis], real: np.ndarray | None, large_batch: int,
              seed: int = 0) -> dict[str, tuple[np.ndarray, int]]:
    """Named (inputs, batch) sets: the user's real inputs when given, seeded noise at the example's size at batch 1
    and ``large_batch``, and noise at the smallest and largest sizes of the dynamic axes (batch 1)."""
    rng = np.random.default_rng(seed)
    item = list(shape[1:])
    sets = {}
    if real is not None:
        sets.update({"real_batch1": (real[:32], 1), f"real_batch{large_batch}": (real, large_batch)})
    noise = rng.standard_normal((2 * large_batch, *item)).astype(np.float32)
    sets.update({"random_batch1": (noise[:16], 1), f"random_batch{large_batch}": (noise, large_batch)})
    sized = [axis for index, axis in axes.items() if index > 0]
    for end in ("low", "high") if sized else ():
        at = list(item)
        for axis in sized:
            at[axis.index - 1] = getattr(axis, end)
        label = "min" if end == "low" else "max"
        sets[f"random_{label}_{'x'.join(map(str, at))}_batch1"] = (rng.standard_normal((2, *at)).astype(np.float32), 1)
    return sets
