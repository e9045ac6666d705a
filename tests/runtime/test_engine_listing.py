"""`visionrt engines`: every cached engine, what it was built for, and which can never be served again.

Engines are built with the emulated TensorRT (tests/support), into the fixture's fresh cache folder.
"""

import shutil

import pytest

from visionrt import cli, model_zoo
from visionrt.export.tensorrt_build import build_engine
from visionrt.runtime import engine_listing
from visionrt.runtime.backends import tensorrt as trt_backend
from visionrt.runtime.engine_cache import EngineCache


def build(repository, name: str = "digits", precision: str = "fp16"):
    return build_engine(repository / name / "1" / {"fp16": "model_fp16.onnx", "fp32": "model.onnx"}[precision])


@pytest.fixture
def repository(tmp_path):
    """A copy of the zoo's digits folder, free to be re-exported (overwritten) by a test."""
    copy = tmp_path / "repository"
    shutil.copytree(model_zoo.model_dir("digits"), copy / "digits")
    return copy


def test_engines_that_fit_are_listed_servable_with_what_they_were_built_for(emulated_tensorrt, repository, capsys):
    build(repository, precision="fp16")
    build(repository, precision="fp32")
    assert cli.main(["engines", "--repository", str(repository)]) == 0
    out = capsys.readouterr().out
    assert "2 engines" in out and "checked against this machine: TensorRT 10.0.0+emulated on Emulated GPU (sm_90" in out
    assert "digits fp16, weak typing, TensorRT 10.0.0+emulated on Emulated GPU (sm_90" in out
    assert out.count("    servable") == 2 and "stale" not in out


def test_a_re_exported_model_leaves_stale_engines_that_prune_deletes_and_nothing_else(emulated_tensorrt, repository,
                                                                                    capsys):
    engine = build(repository)
    (repository / "digits" / "1" / "model.onnx").write_bytes(b"re-exported")  # the FP32 file the engine came from
    cache = EngineCache()
    timing = sorted(cache.root.glob("timing-*.cache"))
    assert cli.main(["engines", "--repository", str(repository)]) == 0
    out = capsys.readouterr().out
    assert "stale: built from an ONNX file that is no longer installed (re-exported since?)" in out
    assert "1 stale; `visionrt engines --prune` deletes them" in out and engine.is_file()
    assert cli.main(["engines", "--repository", str(repository), "--prune"]) == 0
    assert "pruned 1 stale engines and 0 provider cache folders" in capsys.readouterr().out
    assert not engine.exists() and not engine.with_name(engine.name + ".json").exists()
    assert sorted(cache.root.glob("timing-*.cache")) == timing  # the timing cache stays: it is still this machine's


def test_an_engine_of_another_gpu_is_stale_here_with_what_differs(emulated_tensorrt, emulated_cuda, repository):
    emulated_cuda.gpu, emulated_cuda.capability = "Emulated L4", (8, 9)
    build(repository)
    emulated_cuda.gpu, emulated_cuda.capability = "Emulated GPU", (9, 0)
    machine, _ = engine_listing.this_machine()
    (entry,) = EngineCache().entries(engine_listing.installed_onnx(repository), machine)
    assert entry.problems == ["built with TensorRT 10.0.0+emulated for sm_89 (Emulated L4), this machine has "
                              "TensorRT 10.0.0+emulated and sm_90 (Emulated GPU)"]


def test_without_tensorrt_here_entries_are_checked_against_the_installed_onnx_only(emulated_tensorrt, repository,
                                                                                 monkeypatch, capsys):
    build(repository)
    monkeypatch.setattr(trt_backend, "tensorrt", lambda: (_ for _ in ()).throw(ImportError("no tensorrt here")))
    assert cli.main(["engines", "--repository", str(repository)]) == 0
    out = capsys.readouterr().out
    assert "not checked against this machine (no tensorrt here)" in out and "    servable" in out


def test_a_corrupt_engine_file_is_stale(emulated_tensorrt, repository):
    engine = build(repository)
    engine.write_bytes(b"truncated")
    (entry,) = EngineCache().entries(engine_listing.installed_onnx(repository), None)
    assert entry.problems == ["engine file missing or corrupt"]


def test_a_model_the_repository_does_not_hold_is_not_judged_by_its_onnx(emulated_tensorrt, repository, tmp_path):
    """Its engines may come from another repository: only a model the repository holds can be re-exported."""
    build(repository)
    (entry,) = EngineCache().entries(engine_listing.installed_onnx(tmp_path / "empty"), None)
    assert entry.problems == []


def test_provider_cache_folders_of_other_versions_are_stale_and_pruned_the_current_one_kept(
        emulated_tensorrt, monkeypatch, capsys):
    root = EngineCache().root / "onnxruntime-trt"
    for name in ("ort1.30.0-trt-10.8.0", "ort1.31.1-trt-10.9.0"):
        (root / name).mkdir(parents=True)
        (root / name / "TensorrtExecutionProvider_cache_sm90.timing").write_bytes(b"x" * 1000)
    monkeypatch.setattr(engine_listing, "current_provider_cache", lambda: root / "ort1.31.1-trt-10.9.0")
    assert cli.main(["engines", "--prune"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime-trt/ort1.30.0-trt-10.8.0 (ONNX Runtime TensorRT provider cache, 0.0 MB)\n    stale" in out
    assert "onnxruntime-trt/ort1.31.1-trt-10.9.0 (ONNX Runtime TensorRT provider cache, 0.0 MB)\n    in use here" in out
    assert "pruned 0 stale engines and 1 provider cache folders" in out
    assert [f.name for f in root.iterdir()] == ["ort1.31.1-trt-10.9.0"]


def test_where_the_provider_cannot_run_its_cache_folders_are_listed_but_never_pruned(emulated_tensorrt, capsys):
    folder = EngineCache().root / "onnxruntime-trt" / "ort1.31.1-trt-10.9.0"
    folder.mkdir(parents=True)
    if engine_listing.current_provider_cache() is not None:
        pytest.skip("ONNX Runtime's TensorRT provider can run here")
    assert cli.main(["engines", "--prune"]) == 0
    assert "not checked: ONNX Runtime's TensorRT provider cannot run here" in capsys.readouterr().out
    assert folder.is_dir()
