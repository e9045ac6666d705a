"""The engine cache: keys, lookups, what a mismatch says, and that models never share an entry."""

import json
from dataclasses import replace

import pytest

from visionrt.artifact import ArtifactMetadata, InputSpec
from visionrt.runtime.engine_cache import EngineCache, EngineKey, differences

KEY = EngineKey(model="digits", onnx_sha256="a" * 64, precision="fp16",
                profile={"input": "image", "min": [1, 1, 8, 8], "opt": [8, 1, 8, 8], "max": [64, 1, 8, 8]},
                build={"workspace_bytes": 1 << 30, "fp32_nodes": [], "optimization_level": 3},
                tensorrt="10.3.0", gpu="NVIDIA H100 80GB HBM3", compute_capability="9.0", platform="Linux-x86_64")


DIGITS = ArtifactMetadata("digits", None, InputSpec("image", "NCHW", (1, 8, 8)), ("logits",), 64, "fp16")


@pytest.fixture
def cache(tmp_path):
    cache = EngineCache(tmp_path)
    cache.store(KEY, b"engine bytes", DIGITS, build_seconds=1.5)
    return cache


def test_every_field_changes_the_digest():
    variants = [replace(KEY, model="digit_reader"), replace(KEY, onnx_sha256="b" * 64), replace(KEY, precision="fp32"),
                replace(KEY, profile={**KEY.profile, "max": [32, 1, 8, 8]}), replace(KEY, build={**KEY.build, "workspace_bytes": 1}),
                replace(KEY, tensorrt="10.5.0"), replace(KEY, gpu="NVIDIA L4"), replace(KEY, compute_capability="8.9"),
                replace(KEY, platform="Windows-AMD64")]
    digests = {v.digest() for v in variants} | {KEY.digest()}
    assert len(digests) == len(variants) + 1


def test_filename_names_model_precision_architecture_and_version():
    assert KEY.filename().startswith("digits-fp16-sm90-trt10.3.0-") and KEY.filename().endswith(".engine")


def test_lookup_finds_the_exact_entry_with_its_sidecar(cache):
    found = cache.lookup(KEY)
    assert found.engine == cache.path_for(KEY) and found.engine.read_bytes() == b"engine bytes"
    sidecar = json.loads(found.engine.with_name(found.engine.name + ".json").read_text())
    assert sidecar["key"]["onnx_sha256"] == KEY.onnx_sha256 and sidecar["build_seconds"] == 1.5
    assert cache.metadata(found.engine) == DIGITS


def test_a_different_machine_is_told_exactly_what_differs(cache):
    here = replace(KEY, tensorrt="10.5.0", gpu="NVIDIA L4", compute_capability="8.9")
    found = cache.lookup(here)
    assert found.engine is None
    assert ("built with TensorRT 10.3.0 for sm_90 (NVIDIA H100 80GB HBM3), this machine has TensorRT 10.5.0 "
            "and sm_89 (NVIDIA L4)") in found.explain()


def test_an_engine_from_another_platform_is_refused_by_name(cache):
    """NVIDIA: serialized engines are not portable across platforms (Linux, Windows), even on one GPU."""
    assert "built on Linux-x86_64, this machine is Windows-AMD64" in cache.lookup(
        replace(KEY, platform="Windows-AMD64")).explain()


def test_the_sidecar_records_the_cuda_versions_it_was_built_under(tmp_path):
    cache = EngineCache(tmp_path)
    engine = cache.store(KEY, b"engine bytes", DIGITS, 1.0, {"driver": "13.0", "runtime": "12.8"})
    assert cache.sidecar(engine)["cuda"] == {"driver": "13.0", "runtime": "12.8"}


def test_a_changed_onnx_or_profile_is_named(cache):
    reasons = differences(json.loads(json.dumps(KEY.__dict__)), replace(KEY, onnx_sha256="c" * 64,
                                                                        profile={**KEY.profile, "max": [32, 1, 8, 8]}))
    assert any(r.startswith("built from a different ONNX file (sha256 aaaaaaaaaaaa") for r in reasons)
    assert any(r.startswith("profile differs") for r in reasons)


def test_two_models_never_share_an_entry(cache):
    other = replace(KEY, model="digit_reader")
    assert cache.lookup(other).engine is None
    assert cache.lookup(other).explain() == "no engine has been built for this model here yet"
    cache.store(other, b"reader engine", replace(DIGITS, model="digit_reader"), 1.0)
    assert cache.lookup(KEY).engine.read_bytes() == b"engine bytes"
    assert cache.lookup(other).engine.read_bytes() == b"reader engine"


def test_a_corrupt_engine_file_is_not_served(cache):
    cache.path_for(KEY).write_bytes(b"truncated")
    found = cache.lookup(KEY)
    assert found.engine is None and "corrupt" in found.explain()
