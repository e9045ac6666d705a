"""The visionrt command: every subcommand helps, runs, and fails with a clear message."""

import json

import pytest

from visionrt import cli, model_zoo
from visionrt.errors import UserInputError
from visionrt.model_zoo import samples_dir


@pytest.mark.parametrize("command", ["train", "export", "compare", "run", "bench", "tune", "zoo", "engines", "serve",
                                     "bench-serve"])
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
    assert f"visionrt run: error: {tmp_path / 'missing.png'}: image file not found" in capsys.readouterr().err
    assert cli.main(["export", "digits", "--runs-dir", str(tmp_path), "--repository", str(tmp_path / "empty")]) == 2
    assert "no checkpoint under" in capsys.readouterr().err


def test_training_options_a_model_does_not_take_are_refused_by_flag(tmp_path, capsys):
    assert cli.main(["train", "digits", "--steps", "5", "--runs-dir", str(tmp_path)]) == 2
    assert "digits training does not support: --steps" in capsys.readouterr().err
    assert cli.main(["train", "denoiser", "--style", "x.png", "--runs-dir", str(tmp_path)]) == 2
    assert "denoiser training does not support: --style" in capsys.readouterr().err


def test_train_with_data_names_a_missing_folder(tmp_path, capsys):
    assert cli.main(["train", "style", "--data", str(tmp_path / "nowhere"), "--runs-dir", str(tmp_path)]) == 2
    assert "nowhere: not a folder" in capsys.readouterr().err


def test_compare_prints_every_tensor_and_writes_a_report(tmp_path, capsys):
    assert cli.main(["compare", "digits", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "digits: FP16 against FP32 on standard normal noise (2, 1, 8, 8), seed 0, ONNX Runtime cpu" in out
    assert "every one of 9 shared tensors stays at or above 40 dB SNR" in out
    report = json.loads((tmp_path / "compare_digits.json").read_text())
    assert len(report["tensors"]) == 9 and report["tensors"][-1]["tensor"] == "logits"
    assert (tmp_path / "compare_digits.png").stat().st_size > 0
    assert "| 8 | logits | node_linear_1 | Gemm | FP16 |" in (tmp_path / "compare_digits.md").read_text()


def test_compare_runs_the_users_inputs_and_refuses_ones_the_model_cannot_take(tmp_path, capsys):
    import numpy as np

    np.save(tmp_path / "batch.npy", np.zeros((3, 1, 8, 8), np.float32))
    assert cli.main(["compare", "digits", "--inputs", str(tmp_path / "batch.npy")]) == 0
    assert f"{tmp_path / 'batch.npy'} (3, 1, 8, 8)" in capsys.readouterr().out
    np.save(tmp_path / "wrong.npy", np.zeros((3, 8, 8), np.float64))
    assert cli.main(["compare", "digits", "--inputs", str(tmp_path / "wrong.npy")]) == 2
    assert "input 'image': expected float32 of shape (N, 1, 8, 8), got float64 (3, 8, 8)" in capsys.readouterr().err
    assert cli.main(["compare", "digits", "--shape", "2", "1", "8"]) == 2
    assert "--shape: input 'image': expected float32 of shape (N, 1, 8, 8), got float32 (2, 1, 8)" \
        in capsys.readouterr().err
    assert cli.main(["compare", "digits", "--shape", "2", "1", "0", "8"]) == 2
    assert "--shape 2 1 0 8: every size must be at least 1" in capsys.readouterr().err


def test_export_refuses_a_keep_fp32_name_the_graph_lacks(tiny_run, tmp_path, capsys):
    assert cli.main(["export", "digits", "--checkpoint", str(tiny_run / "best.pt"), "--repository", str(tmp_path),
                     "--keep-fp32", "node_linear_1", "LayerNorm"]) == 2
    err = capsys.readouterr().err
    assert "--keep-fp32 LayerNorm: no node or op type of that name in the graph; its op types are Conv, Gemm" in err
    assert not (tmp_path / "digits").exists()


def test_compare_can_try_a_keep_fp32_before_an_export_writes_anything(capsys):
    import hashlib

    from visionrt import model_zoo

    installed = model_zoo.model_dir("digits") / "1" / "model_fp16.onnx"
    before = hashlib.sha256(installed.read_bytes()).hexdigest()
    assert cli.main(["compare", "digits", "--keep-fp32", "Conv"]) == 0
    out = capsys.readouterr().out
    assert "FP16 converted here with --keep-fp32 Conv" in out
    conv_rows = [line for line in out.splitlines() if "| Conv |" in line]
    assert conv_rows and all("| Conv | FP32 |" in line for line in conv_rows)
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == before
    assert cli.main(["compare", "digits", "--keep-fp32", "Attention"]) == 2
    assert "--keep-fp32 Attention: no node or op type" in capsys.readouterr().err


def test_compare_needs_both_files_of_a_model_folder(tmp_path, capsys):
    import shutil

    from visionrt import model_zoo

    single = model_zoo.model_dir("digits") / "1" / "model.onnx"
    assert cli.main(["compare", str(single)]) == 2
    assert "compare takes a zoo name or a model folder" in capsys.readouterr().err
    (tmp_path / "digits" / "1").mkdir(parents=True)
    shutil.copy(single, tmp_path / "digits" / "1" / "model.onnx")
    assert cli.main(["compare", str(tmp_path / "digits")]) == 2
    assert "no model_fp16.onnx to compare it with" in capsys.readouterr().err


def test_tune_measures_each_named_model_and_composites_expand(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VISIONRT_TUNE_FILE", str(tmp_path / "tuned.json"))
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "cache"))
    assert cli.main(["tune", "vae", "--seconds", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "[1/2] vae_encoder at 1x1x8x8: " in out and "[2/2] vae_decoder at 1x8: " in out
    assert set(json.loads((tmp_path / "tuned.json").read_text())) == {"vae_encoder", "vae_decoder"}
    assert cli.main(["tune", "nope"]) == 2
    assert "not installed in the zoo: nope" in capsys.readouterr().err


def test_export_without_a_run_re_exports_the_installed_checkpoint(tmp_path, capsys):
    import shutil

    from visionrt import model_zoo

    shutil.copytree(model_zoo.model_dir("digits"), tmp_path / "repo" / "digits")
    before = (tmp_path / "repo" / "digits" / "weights.pt").read_bytes()
    assert cli.main(["export", "digits", "--runs-dir", str(tmp_path / "no-runs"), "--repository",
                     str(tmp_path / "repo")]) == 0
    out = capsys.readouterr().out
    assert "exporting the installed checkpoint" in out and "no MODEL_CARD.md here" in out
    assert (tmp_path / "repo" / "digits" / "weights.pt").read_bytes() == before
    assert not (tmp_path / "repo" / "digits" / "1" / "model_int8.onnx").exists()  # made from the old export: gone


@pytest.mark.parametrize("words", [["train"], ["export"], ["compare"], ["bench"], ["run"], ["zoo", "rebuild"],
                                   ["zoo", "card"], ["tune"]])
def test_every_command_that_names_a_zoo_model_takes_every_name_the_zoo_lists(words):
    from visionrt.model_zoo import registry

    parser = cli.build_parser()
    for name in model_zoo.names() + sorted(registry.COMPOSITES):
        parsed = parser.parse_args([*words, name, *(["x.png"] if words == ["run"] else [])])
        assert name in (getattr(parsed, "model", None), *(getattr(parsed, "models", None) or []))


def test_a_composite_acts_on_each_of_its_graphs_or_is_refused_where_one_graph_is_meant(capsys):
    assert cli.main(["compare", "vae"]) == 0
    out = capsys.readouterr().out
    assert "vae_encoder: FP16 against FP32" in out and "vae_decoder: FP16 against FP32" in out
    assert cli.main(["zoo", "card", "vae"]) == 0
    assert "vae_encoder/MODEL_CARD.md" in capsys.readouterr().out
    assert cli.main(["export", "vae", "--checkpoint", "x.pt"]) == 2
    assert "export vae_encoder and vae_decoder one at a time" in capsys.readouterr().err


def test_a_composite_named_where_one_graph_is_loaded_says_which_graphs_it_is():
    from visionrt.runtime import source

    with pytest.raises(UserInputError, match="'faceswap' is 2 graphs \\(faceswap_to_a, faceswap_to_b\\)"):
        source.resolve("faceswap")


def test_run_writes_one_face_swap_graphs_output_too(tmp_path, capsys):
    sample = sorted(samples_dir("faceswap_to_b").glob("*.png"))[0]
    assert cli.main(["run", "faceswap_to_b", str(sample), "-o", str(tmp_path)]) == 0
    assert (tmp_path / f"{sample.stem}_swapped_to_b.png").is_file()
