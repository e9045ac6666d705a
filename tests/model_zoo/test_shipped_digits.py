"""The committed digits artifact: complete metadata, the accuracy bar, and the files agree with each other."""

import json

import numpy as np
import pytest

from visionrt import runtime
from visionrt.runtime import source as sources

REQUIRED_METADATA = ("model", "task", "input", "preprocessing", "labels", "metrics", "source_weights_sha256",
                     "visionrt_version", "exported_at", "precision", "exporter", "opset", "parity")  # JSON keys


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_each_onnx_describes_itself(shipped_dir, precision):
    info = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision=precision).metadata
    written = info.to_dict()
    for key in REQUIRED_METADATA:
        assert written.get(key) not in (None, "", {}), key
    assert written["input"] == {"name": "image", "layout": "NCHW", "shape": [1, 8, 8], "dtype": "float32"}
    assert info.labels == tuple(str(d) for d in range(10))
    assert info.precision == precision
    assert info.provenance["opset"] >= 17


def test_recorded_test_accuracy_beats_the_svm_anchor(shipped_dir):
    metrics = runtime.load(shipped_dir, backend="onnxruntime:cpu").metadata.metrics
    assert metrics["accuracy"] >= 0.99
    assert metrics["samples"] == 360
    assert metrics["macro_precision"] >= 0.99 and metrics["macro_recall"] >= 0.99


def test_weights_hash_in_metadata_matches_the_shipped_weights(shipped_dir):
    from visionrt.train import checkpoint

    info = runtime.load(shipped_dir, backend="onnxruntime:cpu").metadata
    assert info.provenance["source_weights_sha256"] == checkpoint.sha256(shipped_dir / "weights.pt")


def test_export_report_matches_the_files_it_describes(shipped_dir):
    from visionrt.train import checkpoint

    report = json.loads((shipped_dir / "export_report.json").read_text())
    files = sources.resolve(shipped_dir).files
    assert report["files"]["model.onnx"]["sha256"] == checkpoint.sha256(files["fp32"])
    assert report["files"]["model_fp16.onnx"]["sha256"] == checkpoint.sha256(files["fp16"])


def test_onnx_matches_eager_pytorch_on_the_shipped_weights(shipped_dir):
    torch = pytest.importorskip("torch")
    from visionrt.train import checkpoint
    from visionrt.train.digits import validation_inputs

    payload = checkpoint.load(shipped_dir / "weights.pt")
    inputs = validation_inputs(payload)
    with torch.no_grad():
        expected = checkpoint.build_model(payload)(torch.from_numpy(inputs)).numpy()
    model = runtime.load(shipped_dir, backend="onnxruntime:cpu", precision="fp32")
    got = np.concatenate([model.run(inputs[i : i + 64]) for i in range(0, len(inputs), 64)])  # the artifact's batch
    assert np.abs(got - expected).max() < 1e-4
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_triton_config_declares_the_onnx_io_and_tensorrt_fp16(shipped_dir):
    text = (shipped_dir / "config.pbtxt").read_text()
    for line in ('name: "digits"', 'platform: "onnxruntime_onnx"', "max_batch_size: 64", 'name: "image"',
                 "data_type: TYPE_FP32", "dims: [ 1, 8, 8 ]", 'name: "logits"', "dims: [ 10 ]",
                 'name: "tensorrt"', 'key: "precision_mode" value: "FP16"'):
        assert line in text, line
    assert (shipped_dir / "1" / "model.onnx").is_file()


def test_samples_exist_for_the_demo():
    from visionrt import model_zoo

    assert sorted(p.name for p in model_zoo.samples_dir("digits").glob("*.png")) == [f"digit_{d}.png" for d in range(10)]
