"""Optimization-profile ranges derived from artifact metadata, and the out-of-profile error."""

import pytest

from dataclasses import replace

from visionrt.artifact import ArtifactMetadata, InputSpec
from visionrt.errors import ArtifactError, UserInputError
from visionrt.runtime.profiles import profile_from_metadata

DIGITS = ArtifactMetadata("digits", None, InputSpec("image", "NCHW", (1, 8, 8)), ("logits",), 64, "fp32")
READER = ArtifactMetadata("digit_reader", None, InputSpec("image", "NCHW", (1, 16, None)), ("log_probs",), 32, "fp32",
                          dynamic_ranges={3: (8, 128, 1024)})


def test_fixed_image_model_profile_spans_only_the_batch():
    profile = profile_from_metadata(DIGITS)
    assert (profile.min, profile.opt, profile.max) == ((1, 1, 8, 8), (8, 1, 8, 8), (64, 1, 8, 8))


def test_dynamic_width_takes_its_recorded_range():
    profile = profile_from_metadata(READER)
    assert (profile.min, profile.opt, profile.max) == ((1, 1, 16, 8), (8, 1, 16, 128), (32, 1, 16, 1024))


def test_a_dynamic_axis_without_a_range_is_an_artifact_error():
    with pytest.raises(ArtifactError, match="axis 3 is dynamic but the metadata records no range"):
        profile_from_metadata(replace(READER, dynamic_ranges={}))


def test_shapes_outside_the_profile_name_axis_value_and_range():
    profile = profile_from_metadata(READER)
    profile.check((32, 1, 16, 1024))
    with pytest.raises(UserInputError, match=r"axis 0 is 33, outside the engine's profile \[1, 32\]"):
        profile.check((33, 1, 16, 64))
    with pytest.raises(UserInputError, match=r"axis 3 is 4, outside the engine's profile \[8, 1024\]"):
        profile.check((1, 1, 16, 4))


def test_shipped_digits_metadata_gives_a_profile(shipped_dir):
    from visionrt import runtime

    meta = runtime.load(shipped_dir, backend="onnxruntime:cpu").metadata
    assert profile_from_metadata(meta).max == (64, 1, 8, 8)
