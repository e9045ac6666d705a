"""`visionrt export --module` and `--onnx`: a user's own model from the command line, and the commands that take
the folder it makes (run, compare, bench) as they take the zoo's."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from visionrt import cli  # noqa: E402

USER_MODULE = '''
import torch


def build(classes=4):
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, classes))
'''


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The user's module file, its weights, and the folder `visionrt export --module` made of them."""
    import importlib
    import sys

    work = tmp_path_factory.mktemp("user")
    (work / "my_nets.py").write_text(USER_MODULE)
    sys.path.insert(0, str(work))
    try:
        model = importlib.import_module("my_nets").build(5)
    finally:
        sys.path.pop(0)
    torch.save(model.state_dict(), work / "w.pt")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)  # the module is found beside the user, as `python -c "import my_nets"` would find it
        code = cli.main(["export", "--module", "my_nets:build", "--kwargs", '{"classes": 5}', "--weights", "w.pt",
                         "--input", "image:1x3x32x32", "--dynamic", "image:0,2,3", "--name", "mine",
                         "--repository", str(work / "repo")])
    assert code == 0
    return work, model.eval()


def test_export_module_installs_a_folder_equal_to_the_users_module(exported):
    from visionrt import runtime

    work, model = exported
    folder = work / "repo" / "mine"
    report = json.loads((folder / "export_report.json").read_text())
    assert report["source"]["module"] == "torch.nn.modules.container:Sequential"
    x = np.random.default_rng(0).standard_normal((2, 3, 48, 40)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.abs(runtime.load(folder).run(x) - expected).max() < 1e-4


def test_run_takes_npy_batches_for_a_model_without_a_task(exported, tmp_path, capsys):
    work, _ = exported
    np.save(tmp_path / "batch.npy", np.zeros((3, 3, 32, 32), np.float32))
    np.save(tmp_path / "small.npy", np.zeros((1, 3, 8, 8), np.float32))
    code = cli.main(["run", str(work / "repo" / "mine"), str(tmp_path / "batch.npy"), str(tmp_path / "small.npy"),
                     "-o", str(tmp_path / "out")])
    assert code == 2  # one input refused, the other's result kept
    assert np.load(tmp_path / "out" / "batch_outputs.npz")["output"].shape == (3, 5)
    assert "axis 2 is 8, outside the artifact's range [32, 64]" in capsys.readouterr().err
    huge = np.lib.format.open_memmap(tmp_path / "huge.npy", mode="w+", dtype=np.float32, shape=(64, 3, 1024, 1024))
    del huge  # a sparse 800 MB file: its header is all the run reads before refusing it
    assert cli.main(["run", str(work / "repo" / "mine"), str(tmp_path / "huge.npy"), "-o", str(tmp_path / "out")]) == 2
    assert "more than the largest input the artifact takes" in capsys.readouterr().err


def test_compare_and_bench_take_the_folder(exported, tmp_path, capsys):
    work, _ = exported
    folder = str(work / "repo" / "mine")
    assert cli.main(["compare", folder]) == 0
    assert "mine: FP16 against FP32" in capsys.readouterr().out
    assert cli.main(["bench", folder, "--batches", "1", "--iters", "3", "--warmup", "1", "--device", "cpu",
                     "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "torch.export program eager.pt2" in out and "pytorch-eager" in out
    assert (tmp_path / "bench_mine.json").is_file()


def test_export_onnx_adds_metadata_and_fp16_to_a_plain_file(exported, capsys):
    work, _ = exported
    assert cli.main(["export", "--onnx", str(work / "repo" / "mine" / "1" / "model.onnx"), "--name", "again",
                     "--repository", str(work / "repo")]) == 0
    assert "fp16_vs_fp32" in capsys.readouterr().out
    assert (work / "repo" / "again" / "1" / "model_fp16.onnx").is_file()


@pytest.mark.parametrize("arguments, message", [
    (["--module", "my_nets:build", "--name", "x", "--repository", "r"], "--module needs --input"),
    (["--module", "nowhere_at_all:build", "--input", "image:1x3x8x8", "--name", "x", "--repository", "r"],
     "cannot import it"),
    (["--module", "my_nets:build", "--input", "image:1x3xeight", "--name", "x", "--repository", "r"],
     "expected NAME:SHAPE"),
    (["--module", "my_nets:build", "--kwargs", "[1]", "--input", "image:1x3x8x8", "--name", "x", "--repository", "r"],
     "JSON object"),
    (["--module", "my_nets:build", "--input", "image:1x3x8x8", "--name", "x"], "--name and --repository"),
    (["digits", "--onnx", "m.onnx", "--name", "x", "--repository", "r"], "no zoo MODEL"),
    (["--onnx", "m.onnx", "--input", "image:1x3x8x8", "--name", "x", "--repository", "r"], "are for --module"),
    (["--module", "my_nets:build", "--kwargs", '{"nope": 1}', "--input", "image:1x3x8x8", "--name", "x",
      "--repository", "r"], "unexpected keyword argument 'nope'"),
    (["--module", "my_nets:build", "--int8", "--input", "image:1x3x8x8", "--name", "x", "--repository", "r"],
     "--int8: for zoo models"),
    (["--module", "my_nets:build", "--input", "image:1x1x8x8", "--name", "x", "--repository", "r"],
     "fails on the example input [2, 1, 8, 8]"),
    (["--module", "my_nets:build", "--input", "image:1x3x100000x100000", "--name", "x", "--repository", "r"],
     "an example for tracing needs one input at its usual size"),
])
def test_bad_export_requests_exit_2_naming_the_problem(exported, arguments, message, capsys, monkeypatch):
    work, _ = exported
    monkeypatch.chdir(work)
    assert cli.main(["export", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_weights_that_do_not_fit_are_refused_naming_the_mismatch(exported, capsys, monkeypatch):
    work, _ = exported
    monkeypatch.chdir(work)
    assert cli.main(["export", "--module", "my_nets:build", "--weights", "w.pt", "--input", "image:1x3x8x8",
                     "--name", "x", "--repository", "r"]) == 2
    err = capsys.readouterr().err
    assert "w.pt does not fit the module" in err and "size mismatch" in err


def test_an_export_prints_none_of_torchs_lines_about_torchvision(tmp_path):
    import subprocess
    import sys

    code = ("import torch\nfrom visionrt.export import export_model\n"
            "model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())\n"
            f"export_model(model, torch.rand(2, 3, 8, 8), name='quiet', repository={str(tmp_path)!r})\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "torchvision" not in out.stderr  # a fresh process: torch's exporter registry logs once per process
