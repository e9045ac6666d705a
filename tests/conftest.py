"""Shared fixtures: a tiny trained checkpoint and its export, made once per test session, and the emulated
CUDA runtime and TensorRT (tests/support) that let the GPU path's logic run on any machine."""

import sys
from pathlib import Path

import pytest
from extras import needs

from visionrt import model_zoo


@pytest.fixture(scope="session", autouse=True)
def no_tuning_records_for_session_fixtures(tmp_path_factory):
    """The same for what session fixtures load (a server, reference models), which function fixtures do not reach:
    after `make demo` has tuned this machine, they would otherwise load what tune picked here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VISIONRT_TUNE_FILE", str(tmp_path_factory.getbasetemp() / "no-tuned.json"))
        yield


@pytest.fixture(autouse=True)
def no_tuning_records_of_this_machine(tmp_path_factory, monkeypatch):
    """Tests see no `visionrt tune` record but their own: a developer's records would change what auto picks."""
    monkeypatch.setenv("VISIONRT_TUNE_FILE", str(tmp_path_factory.getbasetemp() / "no-tuned.json"))


@pytest.fixture(scope="session")
def shipped_dir() -> Path:
    """The digits model folder shipped in the zoo (the real, fully trained artifact)."""
    return model_zoo.model_dir("digits")


@pytest.fixture(scope="session")
def digits_test_split():
    """The shipped model's held-out test split as (uint8 dark-on-light images, labels)."""
    needs("sklearn")  # the digits come from scikit-learn
    from visionrt.train import data

    dataset = data.load_digits_data(seed=0)
    ink, labels = dataset.part("test")
    return data.dark_on_light(ink[:, 0]), labels


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A digits run trained for two epochs on 96 images: enough to exercise every stage, quickly."""
    from visionrt.train.digits import DigitsTrainConfig, train_digits

    runs = tmp_path_factory.mktemp("runs")
    config = DigitsTrainConfig.from_spec(epochs=2, patience=1, limit=96, width=8, runs_dir=runs, progress=False)
    return train_digits(config)


@pytest.fixture(scope="session")
def tiny_export(tiny_run, tmp_path_factory):
    """The tiny run exported into a fresh model repository: (repository, export report)."""
    from visionrt.export import ExportOptions, export_checkpoint

    repository = tmp_path_factory.mktemp("repository")
    report = export_checkpoint(tiny_run / "best.pt", ExportOptions(repository=repository))
    return repository, report


@pytest.fixture
def emulated_cuda(monkeypatch):
    """The emulated CUDA runtime (tests/support/emulated_cuda.py) in place of cuda-python's."""
    from emulated_cuda import EmulatedCudaRuntime

    from visionrt.runtime.backends import cuda

    emulator = EmulatedCudaRuntime()
    monkeypatch.setattr(cuda, "cudart", lambda: emulator)
    return emulator


def install_emulated_tensorrt(monkeypatch, tmp_path, major: int):
    needs("onnx")  # the emulator parses the ONNX graph it is asked to build
    from emulated_tensorrt import EmulatedTensorRT

    module = EmulatedTensorRT(major)
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "engines"))
    return module


@pytest.fixture
def emulated_tensorrt(monkeypatch, emulated_cuda, tmp_path):
    """The emulated ``tensorrt`` module (tests/support/emulated_tensorrt.py), as TensorRT 10, on the emulated
    CUDA runtime, with the engine cache in a fresh folder."""
    return install_emulated_tensorrt(monkeypatch, tmp_path, 10)


@pytest.fixture
def emulated_tensorrt11(monkeypatch, emulated_cuda, tmp_path):
    """The same as TensorRT 11: every network strongly typed, no FP16 builder flag, no per-layer precisions."""
    return install_emulated_tensorrt(monkeypatch, tmp_path, 11)
