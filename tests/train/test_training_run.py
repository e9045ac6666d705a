"""A whole (tiny) training run: what it writes and what the checkpoint holds."""

import json

import pytest

from visionrt.errors import ArtifactError, UserInputError
from visionrt.train import checkpoint, loop


def test_run_folder_holds_checkpoint_metrics_and_pictures(tiny_run):
    for name in ("best.pt", "training.json", "confusion_matrix.txt", "confusion_matrix.png", "loss_curve.png"):
        assert (tiny_run / name).is_file(), name
    training = json.loads((tiny_run / "training.json").read_text())
    assert len(training["history"]) == 2
    assert training["test"]["samples"] == 360


def test_checkpoint_records_what_export_needs(tiny_run):
    payload = checkpoint.load(tiny_run / "best.pt")
    assert payload["model"] == "digits" and payload["arch_kwargs"] == {"width": 8}
    record = payload["preprocessing"]
    assert record["invert"] is True and record["size"] == [8, 8] and record["std"][0] > 0
    assert payload["data"]["sizes"] == {"train": 1149, "val": 288, "test": 360}
    assert 0.0 <= payload["metrics"]["accuracy"] <= 1.0
    model = checkpoint.build_model(payload)
    assert not model.training


def test_training_reduces_the_validation_loss(tiny_run):
    history = json.loads((tiny_run / "training.json").read_text())["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] or history[0]["val_loss"] < 2.3


def test_bad_optimizer_and_missing_checkpoint_are_clear_errors(tmp_path):
    with pytest.raises(UserInputError, match="optimizer must be one of"):
        loop.FitConfig(optimizer="rmsprop")
    with pytest.raises(ArtifactError, match="checkpoint not found"):
        checkpoint.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ArtifactError, match="cannot read checkpoint"):
        checkpoint.load(tmp_path / "junk.pt")


def test_sgd_with_momentum_trains_too(tmp_path):
    torch = pytest.importorskip("torch")
    from visionrt.train.digits import DigitsTrainConfig, train_digits

    run = train_digits(DigitsTrainConfig.from_spec(optimizer="sgd", lr=0.05, epochs=1, limit=64, width=8,
                                                   runs_dir=tmp_path, progress=False))
    assert checkpoint.load(run / "best.pt")["train_config"]["optimizer"] == "sgd"
    assert torch.is_tensor(checkpoint.load(run / "best.pt")["state_dict"]["classifier.3.weight"])


def test_search_writes_the_trials_table(tmp_path):
    from visionrt.train.digits import DigitsTrainConfig, train_digits

    run = train_digits(DigitsTrainConfig.from_spec(search="random", trials=2, epochs=1, limit=64,
                                                   runs_dir=tmp_path, progress=False))
    assert len((run / "trials.csv").read_text().splitlines()) == 3
    assert "**yes**" in (run / "trials.md").read_text()
