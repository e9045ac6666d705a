"""`visionrt train MODEL --data DIR`: the user's own images, split by file, for every model that takes them."""

import json

import numpy as np
import pytest
from PIL import Image

from visionrt.errors import UserInputError
from visionrt.train import photos


def write_photos(folder, count, size=(96, 80)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        smooth = np.asarray(Image.fromarray((rng.random((6, 6, 3)) * 255).astype(np.uint8)).resize(size, Image.BICUBIC))
        Image.fromarray(smooth).save(folder / f"photo_{i:02d}.png")
    return folder


def test_folder_split_is_by_file_disjoint_and_independent_of_the_training_seed(tmp_path):
    folder = write_photos(tmp_path / "mine", 12)
    split = photos.folder_split(folder)
    names = [n for part in split.values() for n in part]
    assert sorted(names) == sorted(p.name for p in folder.iterdir()) and len(set(names)) == 12
    assert len(split["val"]) == 1 and len(split["test"]) == 1 and len(split["train"]) == 10
    assert photos.folder_split(folder) == split
    loaded = photos.load_split("test", folder)
    assert list(loaded) == list(split["test"]) and next(iter(loaded.values())).shape == (80, 96, 3)


def test_too_few_or_too_small_photos_are_refused_by_name(tmp_path):
    with pytest.raises(UserInputError, match="found 2 images"):
        photos.folder_split(write_photos(tmp_path / "two", 2))
    with pytest.raises(UserInputError, match="not a folder"):
        photos.folder_split(tmp_path / "missing")
    small = write_photos(tmp_path / "small", 3, size=(40, 30))
    with pytest.raises(UserInputError, match=r"photo_0\d.png is 40x30"):
        photos.load_split("train", small)


def test_a_broken_file_is_named(tmp_path):
    folder = write_photos(tmp_path / "mine", 3)
    (folder / "photo_00.png").write_bytes(b"not a png")
    with pytest.raises(UserInputError, match="photo_00.png"):
        [photos.load_split(part, folder) for part in ("train", "val", "test")]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("data") / "photos", 5)


def test_denoiser_trains_and_reports_on_the_users_photos(folder, tmp_path):
    pytest.importorskip("torch")
    from visionrt.train import checkpoint, denoiser

    config = denoiser.DenoiserTrainConfig.from_spec(steps=2, eval_every=2, width=4, batch_size=2, patch=32,
                                                    data=folder, runs_dir=tmp_path, progress=False)
    run = denoiser.train_denoiser(config)
    metrics = json.loads((run / "training.json").read_text())["test"]
    assert metrics["test_photos"] == list(photos.folder_split(folder)["test"])
    assert checkpoint.load(run / "best.pt")["data"]["source"].startswith("folder ")


def test_colorizer_trains_on_the_users_photos(folder, tmp_path):
    pytest.importorskip("torch")
    from visionrt.train import colorizer

    config = colorizer.ColorizerTrainConfig.from_spec(steps=1, eval_every=1, width=4, batch_size=2, patch=32,
                                                      work_size=64, heads=("regression",), data=folder,
                                                      runs_dir=tmp_path, progress=False)
    metrics = json.loads((colorizer.train_colorizer(config) / "training.json").read_text())["test"]
    assert metrics["test_photos"] == list(photos.folder_split(folder)["test"])


def test_vae_reads_the_users_images_as_8x8_ink(tmp_path):
    pytest.importorskip("torch")
    from visionrt.train import checkpoint, vae

    folder = write_photos(tmp_path / "digits", 12, size=(24, 24))
    dataset = vae.folder_data(folder, seed=0)
    assert dataset.ink.shape == (12, 1, 8, 8) and 0 <= dataset.ink.min() and dataset.ink.max() <= 1
    sizes = [len(getattr(dataset.split, part)) for part in ("train", "val", "test")]
    assert sizes == [8, 2, 2]
    run = vae.train_vae(vae.VAETrainConfig.from_spec(epochs=1, hidden=16, data=folder, runs_dir=tmp_path / "runs",
                                                     progress=False))
    assert checkpoint.load(run / "vae_decoder.pt")["data"]["source"].startswith("folder ")
    with pytest.raises(UserInputError, match="at least 10"):
        vae.folder_data(write_photos(tmp_path / "few", 4), seed=0)
