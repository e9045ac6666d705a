"""The visionrt command: every subcommand helps, runs, and fails with a clear message."""

import json

import pytest

from visionrt import cli
from visionrt.model_zoo import samples_dir


@pytest.mark.parametrize("command", ["train", "export", "run", "bench", "zoo"])
def test_each_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: visionrt " + command in capsys.readouterr().out


def test_zoo_lists_metrics_read_from_the_artifacts(capsys):
    assert cli.main(["zoo"]) == 0
    out = capsys.readouterr().out
    assert "| digits | classification | test accuracy 0.99" in out and "onnxruntime:cpu" in out


def test_run_classifies_the_samples_and_writes_results(tmp_path, capsys):
    files = sorted(str(p) for p in samples_dir("digits").glob("*.png"))
    assert cli.main(["run", "digits", *files, "--top-k", "2", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "digit_3.png: 3 (" in out
    results = json.loads((tmp_path / "results_digits.json").read_text())
    assert [r["label"] for r in results["results"]] == [str(d) for d in range(10)]
    assert results["model"]["backend"] == "onnxruntime"


def test_user_errors_exit_2_with_a_message(tmp_path, capsys):
    assert cli.main(["run", "digits", str(tmp_path / "missing.png")]) == 2
    assert "visionrt run: error: image file not found" in capsys.readouterr().err
    assert cli.main(["export", "digits", "--runs-dir", str(tmp_path)]) == 2
    assert "no checkpoint under" in capsys.readouterr().err


def test_training_options_a_model_does_not_take_are_refused_by_flag(tmp_path, capsys):
    assert cli.main(["train", "digits", "--steps", "5", "--runs-dir", str(tmp_path)]) == 2
    assert "digits training does not support: --steps" in capsys.readouterr().err
    assert cli.main(["train", "denoiser", "--style", "x.png", "--runs-dir", str(tmp_path)]) == 2
    assert "denoiser training does not support: --style" in capsys.readouterr().err


def test_train_with_data_names_a_missing_folder(tmp_path, capsys):
    assert cli.main(["train", "style", "--data", str(tmp_path / "nowhere"), "--runs-dir", str(tmp_path)]) == 2
    assert "nowhere: not a folder" in capsys.readouterr().err
