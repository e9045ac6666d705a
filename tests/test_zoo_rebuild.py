"""`visionrt zoo rebuild` is seeded: two rebuilds of the digits model from its defaults give the same
weights, tensor for tensor, and the same held-out figures (about 25 s each on 2 cores)."""

import shutil

import pytest

from extras import needs

torch = needs("torch")
needs("sklearn")


def rebuilt_digits(tmp_path, monkeypatch, label: str):
    from visionrt import model_zoo, zoo_listing

    zoo = tmp_path / f"zoo-{label}"
    shutil.copytree(model_zoo.repository_path() / "digits", zoo / "digits")
    monkeypatch.setenv("VISIONRT_ZOO", str(zoo))
    (report,) = zoo_listing.rebuild("digits", seed=0, runs_dir=tmp_path / f"runs-{label}")
    return torch.load(zoo / "digits" / "weights.pt", weights_only=False), report


def test_two_seeded_rebuilds_of_digits_give_the_same_weights_and_figures(tmp_path, monkeypatch):
    first, first_report = rebuilt_digits(tmp_path, monkeypatch, "a")
    second, second_report = rebuilt_digits(tmp_path, monkeypatch, "b")
    assert first["state_dict"].keys() == second["state_dict"].keys()
    for name, tensor in first["state_dict"].items():
        assert torch.equal(tensor, second["state_dict"][name]), name
    assert first["metrics"] == second["metrics"]
    assert first_report["parity"] == second_report["parity"]
    assert first["metrics"]["accuracy"] >= 0.99
