"""Export: ONNX files with a dynamic batch axis and metadata, FP16 variant, gates, atomic installs."""

import json
import re

import numpy as np
import pytest

from visionrt.errors import ValidationFailedError
from visionrt.export import ExportOptions, export_checkpoint, parity_gates

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_export_installs_a_triton_style_folder(tiny_export):
    repository, _ = tiny_export
    folder = repository / "digits"
    for name in ("config.pbtxt", "weights.pt", "export_report.json", "1/model.onnx", "1/model_fp16.onnx"):
        assert (folder / name).is_file(), name
    assert not [p for p in repository.iterdir() if p.name.startswith(".")], "staging folder left behind"


@pytest.mark.parametrize("name", ["model.onnx", "model_fp16.onnx"])
def test_onnx_passes_the_full_checker_with_named_io_and_opset(tiny_export, name):
    repository, _ = tiny_export
    model = onnx.load(str(repository / "digits" / "1" / name))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["image"] and [o.name for o in model.graph.output] == ["logits"]
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    first_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert first_dim.dim_param and not first_dim.HasField("dim_value")


@pytest.mark.parametrize("batch", [1, 3, 17, 130])
def test_batch_axis_is_dynamic(tiny_export, batch):
    repository, _ = tiny_export
    session = ort.InferenceSession(str(repository / "digits" / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": np.zeros((batch, 1, 8, 8), np.float32)})[0]
    assert out.shape == (batch, 10)


def test_fp16_variant_keeps_fp32_io_and_stores_fp16_weights(tiny_export):
    repository, _ = tiny_export
    model = onnx.load(str(repository / "digits" / "1" / "model_fp16.onnx"))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    weights = [t for t in model.graph.initializer if len(t.dims) > 1]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)


def test_metadata_and_report_carry_parity_figures(tiny_export):
    from visionrt import artifact

    repository, report = tiny_export
    meta = artifact.read(repository / "digits" / "1" / "model.onnx").metadata
    assert set(meta.parity["vs_pytorch"]["sets"]) == {"real_batch1", "real_batch64", "random_batch1", "random_batch64"}
    assert meta.provenance["exporter"] == "torch.onnx.export(dynamo=True)"
    on_disk = json.loads((repository / "digits" / "export_report.json").read_text())
    assert on_disk["parity"] == json.loads(json.dumps(report["parity"]))
    assert report["parity"]["fp32_vs_pytorch"]["sets"]["real_batch64"]["samples"] == 360


def test_failed_gate_leaves_the_previous_artifact_untouched(tiny_run, tiny_export):
    repository, _ = tiny_export
    folder = repository / "digits"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    impossible = parity_gates.Tolerance(abs=0.0, rel=0.0, min_top1=1.0)
    with pytest.raises(ValidationFailedError, match="(?s)FP32 ONNX vs PyTorch failed validation.*max abs error"):
        export_checkpoint(tiny_run / "best.pt", ExportOptions(repository=repository, fp32_tolerance=impossible))
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in repository.iterdir() if p.name.startswith(".")]


def test_a_model_torch_cannot_export_gets_an_error_naming_the_torch_version(tmp_path):
    torch = pytest.importorskip("torch")
    from visionrt.errors import ExportFailedError
    from visionrt.export.onnx_export import export_onnx

    class SingularValues(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.svd(x)[1]  # no ONNX translation for SVD

    pattern = rf"failed for SingularValues under torch {re.escape(torch.__version__)}: .*svd.*tested with torch 2\.13"
    with pytest.raises(ExportFailedError, match=pattern) as raised:
        export_onnx(SingularValues(), "input", ("output",), torch.ones(4, 3), tmp_path / "m.onnx")
    assert "\x1b" not in str(raised.value)  # torch colours its message; ours is plain text
    assert not (tmp_path / "m.onnx").exists()


@pytest.fixture
def large_head_checkpoint(tiny_run, tmp_path):
    """The tiny run with its last layer scaled so that its largest weight is 3e4: the FP16 converter clips
    weights to +-1e4, so its FP16 file fails the gate unless that layer stays FP32."""
    from visionrt.train import checkpoint

    payload = checkpoint.load(tiny_run / "best.pt")
    weights = payload["state_dict"]
    scale = 3e4 / float(weights["classifier.3.weight"].abs().max())
    weights["classifier.3.weight"] *= scale
    weights["classifier.3.bias"] *= scale
    return checkpoint.save(tmp_path / "large_head.pt", payload)


def test_a_failed_fp16_gate_names_the_node_where_fp16_leaves_fp32_and_the_clipped_weights(large_head_checkpoint,
                                                                                         tmp_path):
    with pytest.raises(ValidationFailedError) as raised:
        export_checkpoint(large_head_checkpoint, ExportOptions(repository=tmp_path / "repository"))
    message = str(raised.value)
    assert "FP16 ONNX vs FP32 ONNX failed validation" in message
    assert re.search(r"Tensor by tensor on real_batch1 \(first 8 inputs\):\n  1 of \d+ shared tensors under 40 dB; "
                     r"the first: 'logits' from node 'node_linear_1' \(Gemm, FP16\)", message), message
    assert "--keep-fp32 node_linear_1 (that node)" in message
    assert re.search(r"clipped in FP16: 'classifier.3.weight' \(\d+ values, read by node_linear_1\)", message)
    assert not (tmp_path / "repository" / "digits").exists()


def test_keeping_the_named_node_in_fp32_lets_the_same_checkpoint_pass(large_head_checkpoint, tmp_path):
    report = export_checkpoint(large_head_checkpoint, ExportOptions(repository=tmp_path / "repository",
                                                                    keep_fp32=("node_linear_1",)))
    assert "node_linear_1" in report["fp32_nodes_in_fp16"] and report["fp16_clipped_weights"] == {}
    half = onnx.load(str(tmp_path / "repository" / "digits" / "1" / "model_fp16.onnx"))
    types = {i.name: i.data_type for i in half.graph.initializer}
    assert types["classifier.3.weight"] == onnx.TensorProto.FLOAT
    assert types["classifier.0.weight"] == onnx.TensorProto.FLOAT16
