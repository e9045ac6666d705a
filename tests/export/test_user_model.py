"""Bring your own model: architectures that no one here wrote (MONAI's, built without pretrained weights) go
through export_model to a folder that is valid ONNX and a valid Triton model, equal to eager PyTorch at two
sizes, loadable without torch, and benchmarked against eager PyTorch from the program saved beside it.

MONAI installs beside our CPU torch with nothing else (torchvision's PyPI wheels need CUDA's libtorch here).
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
nets = pytest.importorskip("monai.networks.nets", reason="MONAI (visionrt[dev]) provides the foreign architectures")

from visionrt import artifact, runtime  # noqa: E402
from visionrt.errors import ArtifactError, ExportFailedError, UserInputError, ValidationFailedError  # noqa: E402
from visionrt.export import user_model  # noqa: E402
from visionrt.export.parity_gates import Tolerance  # noqa: E402

EFFICIENTNET_BLOCKS = ["r1_k3_s11_e1_i32_o16_se0.25", "r2_k3_s22_e6_i16_o24_se0.25", "r1_k5_s22_e6_i24_o40_se0.25"]


def resnet():
    """Batch norm and residual blocks."""
    torch.manual_seed(0)
    return nets.ResNet(block="basic", layers=[1, 1, 1, 1], block_inplanes=[8, 16, 32, 64], spatial_dims=2,
                       n_input_channels=3, num_classes=10)


def unet():
    """Encoder-decoder: max pooling down, transposed convolutions up, skip connections, instance norm."""
    torch.manual_seed(0)
    return nets.BasicUNet(spatial_dims=2, in_channels=3, out_channels=2, features=(8, 8, 16, 32, 64, 8))


def digits_rgb(seed: int = 0):
    """scikit-learn's digits as 32x32 RGB network inputs: (train x, train y, test x, test y)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.from_numpy(data.images.astype(np.float32) / 16.0)[:, None]
    images = torch.nn.functional.interpolate(images, size=(32, 32), mode="bilinear").repeat(1, 3, 1, 1)
    images = (images - 0.5) / 0.5
    order = np.random.default_rng(seed).permutation(len(images))
    train, test = order[:1400], order[1400:]
    return images[train], torch.from_numpy(data.target[train]), images[test], torch.from_numpy(data.target[test])


@pytest.fixture(scope="module")
def classifier():
    """MONAI's EfficientNet (depthwise convolutions, swish, squeeze-and-excitation), a small variant, trained for
    150 steps: a real classifier to gate top-1 agreement and INT8 on. Its batch norm keeps 1% of each batch
    (momentum 0.01), too slow for so short a run, so the statistics are measured again over the training set."""
    torch.manual_seed(0)
    model = nets.EfficientNet(EFFICIENTNET_BLOCKS, spatial_dims=2, in_channels=3, num_classes=10,
                              width_coefficient=0.5, depth_coefficient=0.5)
    x, y, test_x, test_y = digits_rgb()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(150):
        batch = torch.randint(0, len(x), (64,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over what follows
    with torch.no_grad():
        for start in range(0, len(x), 200):
            model(x[start : start + 200])
    model.eval()
    with torch.no_grad():
        accuracy = float((model(test_x).argmax(1) == test_y).float().mean())
    return model, x, test_x, accuracy


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    return tmp_path_factory.mktemp("byo") / "repository"


@pytest.fixture(scope="module")
def resnet_folder(repository):
    report = user_model.export_model(resnet(), {"image": torch.rand(1, 3, 64, 64)}, name="resnet", repository=repository,
                                     dynamic={"image": {0: "batch", 2: "height", 3: "width"}}, max_batch_size=16)
    return repository / "resnet", report


@pytest.fixture(scope="module")
def unet_folder(repository):
    report = user_model.export_model(unet(), {"image": torch.rand(1, 3, 64, 64)}, name="unet", repository=repository,
                                     dynamic={"image": [0, 2, 3]}, max_batch_size=8)
    return repository / "unet", report


@pytest.fixture(scope="module")
def classifier_folder(repository, classifier):
    model, train_x, test_x, _ = classifier
    preprocessing = {"color": "RGB", "size": [32, 32], "mean": [0.5] * 3, "std": [0.5] * 3}
    report = user_model.export_model(
        model, {"image": test_x[:1]}, name="digits_effnet", repository=repository, task="classification",
        labels=[str(d) for d in range(10)], preprocessing=preprocessing, real_inputs=test_x, calibration=train_x[:512],
        precisions=("fp32", "fp16", "int8"), output_names=("logits",), max_batch_size=32)
    return repository / "digits_effnet", report


def eager(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x)).numpy()


def test_the_folder_is_the_zoo_layout_with_the_eager_program_and_a_card(resnet_folder):
    folder, report = resnet_folder
    assert sorted(p.name for p in (folder / "1").iterdir()) == ["model.onnx", "model_fp16.onnx"]
    for name in ("config.pbtxt", "export_report.json", "MODEL_CARD.md", artifact.EAGER_FILE):
        assert (folder / name).is_file(), name
    assert report["source"]["module"] == "monai.networks.nets.resnet:ResNet"
    assert "input shapes checked: 3x32x32, 3x64x64, 3x128x128" in (folder / "MODEL_CARD.md").read_text()
    assert not list(folder.parent.glob(".resnet.staging-*"))


def test_every_file_is_valid_onnx_and_the_config_is_valid_for_triton(resnet_folder):
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from google.protobuf import text_format

    import onnxruntime

    folder, _ = resnet_folder
    for path in (folder / "1").glob("*.onnx"):
        onnx.checker.check_model(str(path), full_check=True)
        plain = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # no visionrt in between
        assert plain.run(None, {"image": np.zeros((3, 3, 40, 72), np.float32)})[0].shape == (3, 10)
    config = text_format.Parse((folder / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    assert config.max_batch_size == 16 and config.platform == "onnxruntime_onnx"
    assert list(config.input[0].dims) == [3, -1, -1] and list(config.output[0].dims) == [10]
    accelerator = {p: v for p, v in config.optimization.execution_accelerators.gpu_execution_accelerator[0].parameters.items()}
    assert accelerator["trt_profile_min_shapes"] == "image:1x3x32x32"
    assert accelerator["trt_profile_max_shapes"] == "image:16x3x128x128"
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]  # the profile's opt and max batch


def test_the_metadata_records_the_named_dynamic_axes_and_their_checked_ranges(resnet_folder):
    folder, report = resnet_folder
    meta = artifact.read(folder / "1" / "model.onnx").metadata
    assert meta.task is None and meta.input.shape == (3, None, None) and meta.max_batch_size == 16
    assert meta.dynamic_ranges == {2: (32, 64, 128), 3: (32, 64, 128)}
    graph = onnx.load(str(folder / "1" / "model.onnx")).graph.input[0]
    assert [d.dim_param for d in graph.type.tensor_type.shape.dim] == ["batch", "", "height", "width"]
    assert report["checked_shapes"] == [[3, 32, 32], [3, 64, 64], [3, 128, 128]]
    assert {"random_min_3x32x32_batch1", "random_max_3x128x128_batch1"} <= set(report["parity"]["fp32_vs_pytorch"]["sets"])


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (3, 3, 96, 48)])
def test_the_runtime_equals_eager_pytorch_at_two_sizes_within_the_recorded_tolerance(resnet_folder, shape):
    folder, report = resnet_folder
    tolerance = report["parity"]["fp32_vs_pytorch"]["tolerance"]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    expected = eager(resnet(), x)
    got = runtime.load(folder, backend="onnxruntime:cpu", precision="fp32").run(x)
    assert np.abs(got - expected).max() <= tolerance["abs"] + tolerance["rel"] * np.abs(expected).max()


def test_an_encoder_decoder_exports_with_free_height_and_width(unet_folder):
    folder, report = unet_folder
    fp16 = report["parity"]["fp16_vs_fp32"]["sets"]
    assert min(figures["psnr_db"] for figures in fp16.values()) >= 40.0
    x = np.random.default_rng(2).standard_normal((2, 3, 96, 128)).astype(np.float32)
    got = runtime.load(folder, backend="onnxruntime:cpu", precision="fp32").run(x)
    assert got.shape == (2, 2, 96, 128)
    assert np.abs(got - eager(unet(), x)).max() < 1e-4


def test_a_size_the_graph_cannot_take_is_an_engine_error_at_run_and_a_failed_gate_in_the_exports_runner(unet_folder):
    from visionrt.errors import EngineError, ValidationFailedError
    from visionrt.export.pipeline import ort_runner

    folder, _ = unet_folder
    odd = np.zeros((1, 3, 72, 72), np.float32)  # inside the range, but the U-Net concatenates at multiples of 16
    with pytest.raises(EngineError, match=r"failed on input 'image' \(1, 3, 72, 72\)"):
        runtime.load(folder, backend="onnxruntime:cpu").run(odd)
    with pytest.raises(ValidationFailedError, match=r"fails at input shape \(1, 3, 72, 72\).*a narrower range"):
        ort_runner(folder / "1" / "model.onnx", "image")(odd)


def test_a_classifier_is_gated_on_real_inputs_and_served_by_classify(classifier_folder, classifier, tmp_path):
    from PIL import Image

    folder, report = classifier_folder
    _, _, test_x, accuracy = classifier
    assert accuracy > 0.9  # a real classifier, so that agreement figures mean something
    assert report["parity"]["fp16_vs_fp32"]["sets"]["real_batch8"]["top1_agreement"] >= 0.999
    int8 = report["parity"]["int8_vs_fp32"]
    assert int8["sets"]["real"]["top1_agreement"] >= 0.995 and (folder / "1" / "model_int8.onnx").is_file()
    image = ((test_x[0, 0].numpy() * 0.5 + 0.5) * 255).astype(np.uint8)
    Image.fromarray(image).convert("RGB").save(tmp_path / "digit.png")
    prediction = runtime.load(folder, backend="onnxruntime:cpu").classify(tmp_path / "digit.png")
    assert prediction.label in [str(d) for d in range(10)]
    int8_model = runtime.load(folder, backend="onnxruntime:cpu", precision="int8")
    assert int8_model.run(test_x[:4].numpy()).shape == (4, 10)


def test_the_folder_loads_and_runs_where_torch_cannot_be_imported(resnet_folder, tmp_path):
    folder, _ = resnet_folder
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
    x = np.random.default_rng(3).standard_normal((2, 3, 64, 96)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", eager(resnet(), x))
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from visionrt import runtime
        got = runtime.load({str(folder)!r}, backend="onnxruntime:cpu").run(np.load({str(tmp_path / 'x.npy')!r}))
        print("max error", float(np.abs(got - np.load({str(tmp_path / 'expected.npy')!r})).max()))
        print("torch loaded:", "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(blocker.parent), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "torch loaded: False" in out.stdout
    assert float(out.stdout.split("max error")[1].split()[0]) < 1e-4


def test_bench_times_a_folder_against_the_saved_eager_program(resnet_folder, tmp_path):
    from visionrt.benchmarks import harness

    folder, _ = resnet_folder
    result = harness.run(harness.BenchConfig(model=str(folder), batches=(1,), warmup=1, iters=3, device="cpu",
                                             out=tmp_path, progress=False))
    eager_rows = [r for r in result["rows"] if r["name"] == "pytorch-eager"]
    assert result["model"] == "resnet" and "eager.pt2" in result["eager_source"] and eager_rows
    visionrt_fp32 = next(r for r in result["rows"] if r["name"] == "visionrt" and r["precision"] == "fp32")
    assert visionrt_fp32["max_abs_error_vs_eager_fp32"] < 1e-4 and visionrt_fp32["speedup_vs_eager_fp32"] > 0
    assert (tmp_path / "bench_resnet.json").is_file() and (tmp_path / "bench_resnet.md").is_file()


def test_an_onnx_file_gets_metadata_fp16_and_a_bench_without_eager_rows(resnet_folder, repository, tmp_path):
    from visionrt.benchmarks import harness

    folder, _ = resnet_folder
    plain = tmp_path / "plain.onnx"
    proto = onnx.load(str(folder / "1" / "model.onnx"))
    del proto.metadata_props[:]  # an ONNX file from elsewhere: no visionrt metadata
    onnx.save(proto, str(plain))
    report = user_model.export_onnx_file(plain, name="from_onnx", repository=repository, max_batch_size=4)
    meta = artifact.read(repository / "from_onnx" / "1" / "model_fp16.onnx").metadata
    assert meta.precision == "fp16" and meta.dynamic_ranges == {2: (32, 256, 512), 3: (32, 256, 512)}
    assert "fp32_vs_pytorch" not in report["parity"] and report["parity"]["fp16_vs_fp32"]["sets"]
    result = harness.run(harness.BenchConfig(model=str(repository / "from_onnx"), batches=(1,), warmup=1, iters=2,
                                             device="cpu", out=tmp_path, progress=False))
    assert not [r for r in result["rows"] if r["name"] == "pytorch-eager"]
    assert "no eager PyTorch" in result["eager_source"]
    assert all(r["max_abs_error_vs_eager_fp32"] < 1e-2 for r in result["rows"])


class TwoHeads(torch.nn.Module):
    """Class scores and a feature map: two outputs with different scales."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        features = torch.relu(self.body(x))
        return self.head(features.mean((2, 3))), features


def test_per_output_tolerances_apply_to_the_named_output_and_the_defaults_to_the_others(repository):
    strict = Tolerance(abs=0.0, rel=0.0, min_top1=1.0)
    example = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValidationFailedError) as failure:
        user_model.export_model(TwoHeads(), example, name="two", repository=repository,
                                output_names=("scores", "features"), tolerances={"fp16": {"features": strict}})
    assert ":features" in str(failure.value) and ":scores" not in str(failure.value)
    assert not (repository / "two").exists()
    loose = Tolerance(abs=0.05, rel=0.0, min_top1=0.9)
    report = user_model.export_model(TwoHeads(), example, name="two", repository=repository,
                                     output_names=("scores", "features"), tolerances={"fp16": {"scores": loose}})
    recorded = report["parity"]["fp16_vs_fp32"]["tolerance"]
    assert recorded["scores"]["abs"] == 0.05 and recorded["features"]["abs"] == 0.01  # the zoo's FP16 default
    with pytest.raises(UserInputError, match=r"names \['logits'\], which are not outputs"):
        user_model.export_model(TwoHeads(), example, name="two", repository=repository,
                                output_names=("scores", "features"), tolerances={"fp16": {"logits": loose}})


def test_a_failed_gate_over_an_installed_folder_leaves_it_byte_for_byte(resnet_folder, repository):
    folder, _ = resnet_folder
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(ValidationFailedError):
        user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="resnet", repository=repository,
                                tolerances={"fp32": Tolerance(abs=0.0, rel=0.0, min_top1=1.0)})
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_re_export_from_an_onnx_file_removes_the_eager_program_of_the_model_it_replaces(repository, tmp_path):
    user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="replaced", repository=repository)
    assert (repository / "replaced" / artifact.EAGER_FILE).is_file()
    onnx_file = tmp_path / "other.onnx"
    onnx.save(onnx.load(str(repository / "replaced" / "1" / "model.onnx")), str(onnx_file))
    user_model.export_onnx_file(onnx_file, name="replaced", repository=repository)
    assert not (repository / "replaced" / artifact.EAGER_FILE).exists()
    assert "ONNX file" in (repository / "replaced" / "MODEL_CARD.md").read_text()


def test_an_fp32_only_onnx_file_is_still_run_at_every_checked_shape(unet_folder, repository):
    folder, _ = unet_folder
    odd = {"image": {2: ("height", 40, 128), 3: ("width", 40, 128)}}  # 40 is no multiple of the U-Net's 16
    with pytest.raises(ValidationFailedError, match=r"fails at input shape \(1, 3, 40, 40\)"):
        user_model.export_onnx_file(folder / "1" / "model.onnx", name="odd", repository=repository, dynamic=odd,
                                    precisions=("fp32",))
    assert not (repository / "odd").exists()


def test_real_inputs_outside_the_checked_range_are_refused_before_export(repository):
    with pytest.raises(UserInputError, match=r"real_inputs has shape \[4, 3, 256, 256\]: axis 2 is 256, outside"):
        user_model.export_model(resnet(), torch.rand(2, 3, 64, 64), name="x", repository=repository,
                                dynamic=[0, 2, 3], real_inputs=np.zeros((4, 3, 256, 256), np.float32))


class Decomposition(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.svd(x.flatten(2)[..., :4, None].repeat(1, 1, 1, 4))[1]


def test_a_model_that_cannot_be_exported_names_the_op_and_leaves_the_repository_as_it_was(resnet_folder, repository):
    folder, _ = resnet_folder
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    with pytest.raises(ExportFailedError, match="aten._linalg_svd"):
        user_model.export_model(Decomposition(), torch.rand(2, 3, 8, 8), name="resnet", repository=repository)
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


@pytest.mark.parametrize("call, message", [
    (lambda r: user_model.export_model(resnet(), {"a": torch.rand(2, 3, 8, 8), "b": torch.rand(2, 3, 8, 8)},
                                       name="x", repository=r), "take one input tensor"),
    (lambda r: user_model.export_model("not a model", torch.rand(2, 3, 8, 8), name="x", repository=r),
     "takes a torch.nn.Module"),
    (lambda r: user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="x", repository=r, dynamic=[1]),
     "channels stay fixed"),
    (lambda r: user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="x", repository=r,
                                       precisions=("fp32", "int8")), "int8 needs calibration"),
    (lambda r: user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="../x", repository=r),
     "letters, digits"),
    (lambda r: user_model.export_model(resnet(), torch.rand(2, 3, 32, 32).double(), name="x", repository=r),
     "float32"),
    (lambda r: user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="x", repository=r,
                                       task="classifcation"), "task 'classifcation': one of"),
])
def test_bad_requests_are_refused_before_anything_is_exported(repository, call, message):
    with pytest.raises(UserInputError, match=message):
        call(repository)


def test_a_task_without_what_it_needs_is_refused_naming_the_field(repository):
    with pytest.raises(ArtifactError, match="'labels'"):
        user_model.export_model(resnet(), torch.rand(2, 3, 32, 32), name="x", repository=repository,
                                task="classification",
                                preprocessing={"color": "RGB", "size": [32, 32], "mean": [0.0] * 3, "std": [1.0] * 3})


def test_the_report_says_what_the_card_says(classifier_folder):
    folder, report = classifier_folder
    card = (folder / "MODEL_CARD.md").read_text()
    assert "INT8 file:" in card and "task: classification" in card and "labels: 10" in card
    assert json.loads((folder / "export_report.json").read_text())["files"].keys() == report["files"].keys()


def test_tune_files_a_folder_under_its_path_and_auto_then_uses_it(resnet_folder):
    from visionrt.runtime import tuning

    folder, _ = resnet_folder
    assert tuning.record_name(folder / "1" / "model.onnx") == str(folder.resolve())  # a folder is filed by its path
    assert tuning.record_name(tuning.fp32_file("digits")) == "digits"  # the zoo's by name
    record = tuning.tune(str(folder), seconds=0.3)
    assert str(folder.resolve()) in tuning.read_records()
    model = runtime.load(folder)
    assert model.describe()["backend"] == record.winner.split(":")[0] and "measured" in model.reasons[0]
