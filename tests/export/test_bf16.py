"""BF16 as a gated precision: OpenVINO's BF16 execution of the FP32 file measured against FP32 on held-out
data, with the task's bar; recorded beside the file, in the report and nowhere else, and dropped by a re-export."""

import json
import shutil

import pytest

from visionrt import artifact, model_zoo, runtime
from visionrt.errors import BackendUnavailableError, ValidationFailedError
from visionrt.execution_gates import gate_path, read_gate, write_gate

pytest.importorskip("openvino", reason="BF16 is computed by OpenVINO: visionrt[openvino]")
from visionrt.export import bf16, int8  # noqa: E402


def native_bf16() -> bool:
    import openvino

    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.fixture
def repository(tmp_path):
    """A copy of the shipped digits entry without its BF16 gate."""
    shutil.copytree(model_zoo.model_dir("digits"), tmp_path / "digits")
    gate_path(tmp_path / "digits" / "1" / artifact.FILES["fp32"], "bf16").unlink()
    return tmp_path


def digits_payload():
    from visionrt.train import checkpoint

    return checkpoint.load(model_zoo.model_dir("digits") / artifact.WEIGHTS_FILE)


@pytest.mark.skipif(not native_bf16(), reason="BF16 is measured only on a CPU that computes it natively")
def test_a_passing_gate_is_recorded_beside_the_file_and_in_the_report(repository):
    gate = bf16.add_bf16_gate("digits", repository)
    fp32 = repository / "digits" / "1" / artifact.FILES["fp32"]
    assert read_gate(fp32, "bf16") == gate and gate.covers(fp32) and gate.passed
    assert gate.sets["real"]["top1_agreement"] >= int8.MIN_TOP1 and gate.task["metric"] == "test_accuracy"
    report = json.loads((repository / "digits" / artifact.REPORT_FILE).read_text())
    assert report["parity"]["bf16_vs_fp32"]["sets"] == gate.sets and report["parity"]["bf16_vs_fp32"]["passed"]
    model = runtime.load(repository / "digits", backend="openvino", precision="bf16")
    assert model.describe()["precision_executed"]["hint"] == "bf16" and "BF16 gate passed" in model.reasons[1]


@pytest.mark.skipif(native_bf16(), reason="this CPU computes BF16 natively")
def test_without_native_bf16_no_gate_is_measured_and_nothing_is_written(repository):
    with pytest.raises(BackendUnavailableError, match="precision bf16 needs a CPU with native BF16"):
        bf16.add_bf16_gate("digits", repository)
    assert read_gate(repository / "digits" / "1" / artifact.FILES["fp32"], "bf16") is None


def test_the_gate_fails_a_candidate_that_loses_test_accuracy(tiny_export):
    """A stand-in for a BF16 run that went wrong: a model two epochs old, in place of the shipped one's BF16."""
    weak, _ = tiny_export
    fp32 = model_zoo.model_dir("digits") / "1" / artifact.FILES["fp32"]
    candidate = runtime.load(weak / "digits" / "1" / artifact.FILES["fp32"], backend="onnxruntime:cpu")
    spec, payload = model_zoo.get("digits"), digits_payload()
    gate = bf16.measure(fp32, int8.held_out_sets(spec, payload), True, spec.task, payload, candidate=candidate)
    assert not gate.passed and gate.sets["real"]["top1_agreement"] < int8.MIN_TOP1
    assert not gate.task["passed"] and gate.task["bf16"] < gate.task["fp32"] - 0.005
    assert "BF16 gate NOT met (real top1_agreement" in gate.summary()


def test_a_re_export_drops_the_gate_it_no_longer_covers(tiny_run, tmp_path):
    from visionrt.export import ExportOptions, export_checkpoint

    options = ExportOptions(repository=tmp_path)
    export_checkpoint(tiny_run / "best.pt", options)
    fp32 = tmp_path / "digits" / "1" / artifact.FILES["fp32"]
    shipped = read_gate(model_zoo.model_dir("digits") / "1" / artifact.FILES["fp32"], "bf16")
    write_gate(fp32, shipped)
    export_checkpoint(tiny_run / "best.pt", options)
    assert not gate_path(fp32, "bf16").exists()
