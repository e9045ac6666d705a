"""Exporting the recurrent reader: dynamic batch and width, an ONNX LSTM op kept FP32 in the FP16 variant."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def reader_export(tmp_path_factory):
    from visionrt.export import ExportOptions, export_checkpoint
    from visionrt.train.digit_reader import ReaderTrainConfig, train_digit_reader

    config = ReaderTrainConfig.from_spec(epochs=1, strings_per_epoch=256, eval_strings=40, width=8, hidden=16,
                                         runs_dir=tmp_path_factory.mktemp("runs"), progress=False)
    run = train_digit_reader(config)
    repository = tmp_path_factory.mktemp("repository")
    return repository, export_checkpoint(run / "best.pt", ExportOptions(repository=repository))


@pytest.mark.parametrize("batch, width", [(1, 8), (3, 52), (2, 400)])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_batch_and_width_are_dynamic(reader_export, batch, width, precision):
    from visionrt import runtime

    repository, _ = reader_export
    model = runtime.load(repository / "digit_reader", backend="onnxruntime:cpu", precision=precision)
    out = model.run(np.zeros((batch, 1, 16, width), np.float32))
    assert out.shape == (batch, width // 4, 11) and out.dtype == np.float32


def test_fp16_graph_runs_on_cpu_with_the_nchwc_workaround_recorded(reader_export):
    from visionrt import runtime

    repository, _ = reader_export
    described = runtime.load(repository / "digit_reader", backend="onnxruntime:cpu", precision="fp16").describe()
    assert described["disabled_optimizers"] == ["NchwcTransformer"]
    fp32 = runtime.load(repository / "digit_reader", backend="onnxruntime:cpu", precision="fp32").describe()
    assert fp32["disabled_optimizers"] == []


def test_output_dims_carry_plain_names_not_traced_expressions(reader_export):
    repository, _ = reader_export
    dims = onnx.load(str(repository / "digit_reader" / "1" / "model.onnx")).graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", "log_probs_dim1", 11]


def test_lstm_is_one_onnx_op_and_stays_fp32_in_the_fp16_variant(reader_export):
    repository, report = reader_export
    graph = onnx.load(str(repository / "digit_reader" / "1" / "model_fp16.onnx")).graph
    lstm = [node for node in graph.node if node.op_type == "LSTM"]
    assert len(lstm) == 1
    assert lstm[0].name in report["fp32_nodes_in_fp16"]
    # its inputs reach it as FP32: its weights stored FP32 (not rounded to FP16), activations cast up
    casts_to_fp32 = {n.output[0] for n in graph.node if n.op_type == "Cast"
                     and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in n.attribute)}
    fp32_weights = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT}
    inputs = {name for name in lstm[0].input if name}
    assert inputs <= casts_to_fp32 | fp32_weights and inputs & fp32_weights


def test_parity_covers_widths_unseen_in_training(reader_export):
    _, report = reader_export
    sets = report["parity"]["fp32_vs_pytorch"]["sets"]
    assert {"real_batch1", "unseen_width_batch1", "unseen_width_batch64", "random_batch64"} <= set(sets)
    assert sets["unseen_width_batch64"]["top1_agreement"] == 1.0


def test_metadata_carries_the_alphabet_and_blank(reader_export):
    from visionrt import runtime

    repository, _ = reader_export
    model = runtime.load(repository / "digit_reader", backend="onnxruntime:cpu")
    assert isinstance(model, runtime.TextReader)
    assert model.metadata.alphabet == "0123456789" and model.metadata.blank == 10
    assert model.inputs[0].shape == (None, 1, 16, None)
    assert 'dims: [ 1, 16, -1 ]' in (repository / "digit_reader" / "config.pbtxt").read_text()
