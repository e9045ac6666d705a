"""The varied photo set: its table holds the promises the training relies on, and ``visionrt photos`` builds a
folder the trainers read (on a .deb built here, so no download runs in the tests)."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from visionrt.errors import UserInputError
from visionrt.train import photo_fetch, photo_sources, photos

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")


def test_names_are_unique_and_every_photo_has_a_known_kind_split_and_licence():
    names = [p.name for p in photo_sources.PHOTOS]
    assert len(names) == len(set(names))
    for photo in photo_sources.PHOTOS:
        assert photo.kind in photo_sources.KINDS and photo.split in ("train", "val", "test")
        assert photo.package == "bundled" or photo.package in photo_sources.PACKAGES
        assert photo_sources.licence(photo)


def test_the_test_split_spans_people_objects_landscapes_and_indoor_scenes():
    test_kinds = [p.kind for p in photo_sources.PHOTOS if p.split == "test"]
    for kind in ("people", "objects", "landscape", "indoor"):
        assert test_kinds.count(kind) >= 2, kind


def test_photos_of_one_scene_share_a_split():
    scene_splits = {}
    for photo in photo_sources.PHOTOS:
        scene_splits.setdefault(re.sub(r"_\d+$", "", photo.name), set()).add(photo.split)
    assert all(len(splits) == 1 for splits in scene_splits.values()), scene_splits


def test_bundled_photos_keep_their_roles_so_export_inputs_stay_in_their_split():
    bundled = {p.name: p.split for p in photo_sources.PHOTOS if p.package == "bundled"}
    assert bundled == {name: part for part, names in photos.SPLIT.items() for name in names}


def test_training_on_the_varied_set_without_fetching_it_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONRT_PHOTOS", str(tmp_path / "absent"))
    with pytest.raises(UserInputError, match="visionrt photos"):
        photos.training_folder("varied", None)
    assert photos.training_folder("bundled", None) is None
    assert photos.training_folder("varied", tmp_path) == tmp_path  # the user's --data wins


def _deb(tmp_path, files: dict[str, bytes]):
    root = tmp_path / "pkg"
    for path, data in files.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_bytes(data)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text("Package: tiny-photos\nVersion: 1\nArchitecture: all\n"
                                             "Maintainer: t <t@t>\nDescription: t\n")
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(tmp_path / "tiny.deb")],
                   check=True, capture_output=True)
    return tmp_path / "tiny.deb"


def _png(width, height, seed):
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@needs_dpkg
def test_a_fetch_writes_scaled_photos_a_manifest_and_licences_that_the_trainers_read(tmp_path, monkeypatch):
    pytest.importorskip("skimage")
    deb = _deb(tmp_path, {"/usr/share/p/big.png": _png(2048, 1024, 0), "/usr/share/p/small.png": _png(300, 200, 1),
                          "/usr/share/doc/tiny-photos/copyright": b"Files: *\nLicense: CC0-1.0\n"})
    package = photo_sources.Package("tiny-photos", "1", "-", "CC0-1.0")
    table = (photo_sources.Photo("chelsea", "bundled", "chelsea", "nature", "test"),
             photo_sources.Photo("big", "tiny-photos", "/usr/share/p/big.png", "landscape", "train"),
             photo_sources.Photo("small", "tiny-photos", "/usr/share/p/small.png", "people", "val"))
    monkeypatch.setattr(photo_sources, "PHOTOS", table)
    monkeypatch.setattr(photo_sources, "PACKAGES", {"tiny-photos": package})
    monkeypatch.setattr(photo_fetch, "download", lambda package, folder: deb)
    dest = photo_fetch.fetch(tmp_path / "varied", progress=False)

    rows = json.loads((dest / "photos.json").read_text())["photos"]
    assert {r["file"]: r["size"] for r in rows}["big.png"] == [1024, 512]  # long side scaled to MAX_SIDE
    assert {r["file"]: r["size"] for r in rows}["small.png"] == [300, 200]  # never enlarged
    assert (dest / "licences" / "tiny-photos.copyright").read_bytes().startswith(b"Files: *")
    assert photo_fetch.is_current(dest)
    assert set(photos.load_split("train", dest)) == {"big"} and set(photos.load_split("test", dest)) == {"chelsea"}
    assert photos.kinds(dest) == {"chelsea": "nature", "big": "landscape", "small": "people"}
    assert not list(tmp_path.glob(".varied.staging-*"))


@needs_dpkg
def test_a_package_lacking_a_declared_photo_is_refused_by_path(tmp_path):
    deb = _deb(tmp_path, {"/usr/share/p/one.png": _png(64, 64, 0)})
    with pytest.raises(UserInputError, match="/usr/share/p/two.png"):
        photo_fetch.package_members(deb, {"/usr/share/p/one.png", "/usr/share/p/two.png"})


def test_a_destination_that_is_not_a_photo_set_is_refused_and_kept(tmp_path):
    mine = tmp_path / "my_photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(UserInputError, match="not a photo set"):
        photo_fetch.fetch(mine, progress=False)
    assert (mine / "holiday.jpg").read_bytes() == b"mine"
