"""Shared fixtures: a tiny trained checkpoint and its export, made once per test session."""

from pathlib import Path

import numpy as np
import pytest

from visionrt import model_zoo


@pytest.fixture(scope="session")
def shipped_dir() -> Path:
    """The digits model folder shipped in the zoo (the real, fully trained artifact)."""
    return model_zoo.model_dir("digits")


@pytest.fixture(scope="session")
def digits_test_split():
    """The shipped model's held-out test split as (uint8 dark-on-light images, labels)."""
    from visionrt.train import data

    dataset = data.load_digits_data(seed=0)
    ink, labels = dataset.part("test")
    images = np.round(255 * (1.0 - ink[:, 0])).astype(np.uint8)
    return images, labels


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
