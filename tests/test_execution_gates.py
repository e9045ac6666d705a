"""The BF16 gate beside an FP32 file: every shipped one covers its file and passed; a malformed one is refused
with the file and field; a stale or failed one never lets a load, or auto, compute at BF16."""

import json
import shutil
from dataclasses import replace

import pytest

from visionrt import artifact, model_zoo, runtime
from visionrt.errors import ArtifactError, BackendUnavailableError, ValidationFailedError
from visionrt.execution_gates import GATE_FILES, gate_path, read_gate, write_gate
from visionrt.runtime import source, tuning

GATED = sorted(name for name in model_zoo.names() if model_zoo.installed(name)
               and (model_zoo.model_dir(name) / "1" / GATE_FILES["bf16"]).is_file())


def needs_openvino():
    if "openvino:cpu" not in {t.name for t in runtime.available_backends() if t.available}:
        pytest.skip("BF16 is OpenVINO's: pip install 'visionrt[openvino]'")


@pytest.fixture
def digits(tmp_path):
    """A copy of the shipped digits entry, with its BF16 gate."""
    shutil.copytree(model_zoo.model_dir("digits"), tmp_path / "digits")
    return tmp_path / "digits"


def test_the_zoo_ships_bf16_gates():
    assert GATED, "no zoo model has a BF16 gate: `visionrt export MODEL --bf16` on a CPU with native BF16"


@pytest.mark.parametrize("name", GATED)
def test_every_shipped_bf16_gate_covers_its_fp32_file_and_passed(name):
    fp32 = model_zoo.model_dir(name) / "1" / artifact.FILES["fp32"]
    gate = read_gate(fp32, "bf16")
    assert gate.covers(fp32) and gate.passed, gate.summary()
    assert all(figure.get("psnr_db", 99) >= gate.bars["psnr_db"] for figure in gate.sets.values())
    assert "bf16" in gate.cpu or "amx" in gate.cpu  # measured where BF16 is native, and says so


def test_a_malformed_gate_is_refused_naming_the_file_and_field(digits):
    path = gate_path(digits / "1" / artifact.FILES["fp32"], "bf16")
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "passed": "yes"}))
    with pytest.raises(ArtifactError, match=r"gate_bf16.json: visionrt metadata field 'passed' holds \"yes\" .*true or false"):
        read_gate(digits / "1" / artifact.FILES["fp32"], "bf16")


def test_a_gate_of_another_file_lets_nothing_through(digits):
    fp32 = digits / "1" / artifact.FILES["fp32"]
    write_gate(fp32, replace(read_gate(fp32, "bf16"), fp32_sha256="0" * 64))
    assert "bf16" not in tuning.gated_precisions(source.resolve(digits))
    needs_openvino()
    try:
        model = runtime.load(digits, backend="openvino", precision="bf16")
    except BackendUnavailableError:
        pytest.skip("this CPU has no native BF16")
    assert "measured on another file (re-exported since), so unchecked here" in model.reasons[1]


def test_a_failed_gate_refuses_a_bf16_load_and_is_never_tuned(digits):
    fp32 = digits / "1" / artifact.FILES["fp32"]
    write_gate(fp32, replace(read_gate(fp32, "bf16"), passed=False))
    assert tuning.gated_precisions(source.resolve(digits)) == ["fp32", "int8"]
    needs_openvino()
    with pytest.raises(ValidationFailedError, match=r"BF16 gate NOT met .* so it is not run at bf16; load precision='fp32'"):
        runtime.load(digits, backend="openvino", precision="bf16")


def test_without_a_gate_a_bf16_load_says_its_quality_is_unchecked(digits):
    gate_path(digits / "1" / artifact.FILES["fp32"], "bf16").unlink()
    assert read_gate(digits / "1" / artifact.FILES["fp32"], "bf16") is None
    needs_openvino()
    try:
        model = runtime.load(digits, backend="openvino", precision="bf16")
    except BackendUnavailableError:
        pytest.skip("this CPU has no native BF16")
    assert "no BF16 gate covers this file, so its quality at bf16 is unchecked" in model.reasons[1]
