"""INT8 as an artifact precision: quantized in QDQ form, calibrated on training-split inputs, installed only
through its gate against FP32 on held-out data, chosen by auto only where tune measured it fastest."""

import shutil

import numpy as np
import pytest

from visionrt import artifact, model_zoo, runtime
from visionrt.errors import ValidationFailedError

pytest.importorskip("onnx", reason="quantization needs visionrt[train]")
from visionrt.export import int8  # noqa: E402


@pytest.fixture
def repository(tmp_path):
    """A copy of the shipped digits entry without its INT8 file."""
    shutil.copytree(model_zoo.model_dir("digits"), tmp_path / "digits")
    (tmp_path / "digits" / "1" / artifact.FILES["int8"]).unlink()
    return tmp_path


def test_a_passing_quantization_is_installed_with_its_figures_and_runs(repository, digits_test_split):
    report = int8.add_int8("digits", repository)
    installed = repository / "digits" / "1" / artifact.FILES["int8"]
    found = artifact.read(installed)
    assert found.int8 and found.metadata.precision == "int8" and not found.float16
    figures = report["parity"]["int8_vs_fp32"]
    assert figures["sets"]["real"]["top1_agreement"] >= int8.MIN_TOP1 and figures["calibration"] in int8.METHODS
    assert set(figures["method_choice"]) == set(int8.METHODS)
    task = figures["task"]  # the task-level gate: test accuracy through classify(), against the FP32 file's
    assert task["metric"] == "test_accuracy" and task["passed"] and task["int8"] >= task["fp32"] - 0.005
    model = runtime.load(repository / "digits", backend="onnxruntime:cpu", precision="int8")
    images, labels = digits_test_split
    assert model.precision == "int8" and np.mean([int(p.label) for p in model.classify(list(images))] == labels) >= 0.99


def test_a_bad_quantization_fails_its_gate_and_installs_nothing(repository):
    before = {p: p.read_bytes() for p in (repository / "digits").rglob("*") if p.is_file()}
    zeros = np.zeros((64, 1, 8, 8), np.float32)  # every activation range collapses to 0
    with pytest.raises(ValidationFailedError, match=r"INT8 .* against FP32 on held-out data: .*NOT met, so "
                                                     r"model_int8.onnx is not installed"):
        int8.add_int8("digits", repository, calibration=zeros)
    after = {p: p.read_bytes() for p in (repository / "digits").rglob("*") if p.is_file()}
    assert after == before


def test_the_task_gate_fails_a_candidate_that_loses_test_accuracy(tiny_export):
    from visionrt.export import task_gates
    from visionrt.train import checkpoint

    weak, _ = tiny_export  # two epochs on 96 images: agrees with nothing like the shipped model's 99.4%
    shipped = runtime.load(model_zoo.model_dir("digits") / "1" / "model.onnx", backend="onnxruntime:cpu")
    candidate = runtime.load(weak / "digits" / "1" / "model.onnx", backend="onnxruntime:cpu")
    payload = checkpoint.load(model_zoo.model_dir("digits") / artifact.WEIGHTS_FILE)
    found = task_gates.classification(shipped, candidate, payload, "int8")
    assert not found["passed"] and found["int8"] < found["fp32"] - task_gates.MAX_ACCURACY_DROP


@pytest.mark.parametrize("name", ["digits", "digit_reader", "denoiser", "vae_decoder"])
def test_every_shipped_int8_file_of_a_task_with_a_task_gate_passed_it(name):
    import json

    report = json.loads((model_zoo.model_dir(name) / artifact.REPORT_FILE).read_text())
    task = report["parity"]["int8_vs_fp32"]["task"]
    assert task["passed"], task


def test_float_stays_where_eight_bits_lose_accuracy():
    onnx = pytest.importorskip("onnx")
    reader = onnx.load(str(model_zoo.model_dir("digit_reader") / "1" / "model.onnx"))
    kept = int8.kept_float(reader)
    ops = {node.name: node.op_type for node in reader.graph.node}
    assert {"LSTM", "LogSoftmax"} <= {ops[name] for name in kept}
    assert reader.graph.node[0].name in kept or any(ops[n] == "Conv" for n in kept)  # the first layer


def test_every_shipped_int8_file_is_recorded_with_a_passed_gate():
    for name in (n for n in model_zoo.names() if model_zoo.installed(n)):
        meta = artifact.read(model_zoo.model_dir(name) / "1" / artifact.FILES["int8"]).metadata
        figures = meta.parity["vs_fp32_onnx"]["sets"]
        assert all(int8.passes(f) for f in figures.values()), (name, figures)


def test_compare_scores_the_int8_file_tensor_by_tensor_on_real_held_out_inputs():
    from visionrt.export import compare_report, tensor_compare

    rows, described, meta = compare_report.compare("style", precision="int8")
    assert meta.precision == "int8" and "held-out inputs" in described
    by_tensor = {row.tensor: row for row in rows}
    assert by_tensor["conv2d"].snr_db > 40 and not by_tensor["conv2d"].kept_fp32  # the first quantized convolution
    assert by_tensor["instance_norm"].kept_fp32  # instance norm stays float, and is where the error grows
    assert by_tensor["stylized"].snr_db > 30  # the output: the gate's PSNR >= 35 dB, as SNR
    assert "INT8" in tensor_compare.summary(rows, label="INT8") and "--keep-fp32" not in tensor_compare.summary(rows, label="INT8")


def test_compare_refuses_noise_for_an_int8_file_outside_the_zoo_and_a_folder_without_one(tmp_path):
    from visionrt.errors import ArtifactError, UserInputError
    from visionrt.export import compare_report

    shutil.copytree(model_zoo.model_dir("digits"), tmp_path / "digits")
    with pytest.raises(UserInputError, match="compare it on real inputs"):
        compare_report.compare(tmp_path / "digits", precision="int8")
    rows, described, _ = compare_report.compare(tmp_path / "digits", shape=(2, 1, 8, 8), precision="int8")
    assert rows and "noise" in described
    (tmp_path / "digits" / "1" / artifact.FILES["int8"]).unlink()
    with pytest.raises(ArtifactError, match="export MODEL --int8"):
        compare_report.compare(tmp_path / "digits", precision="int8")
