"""The varied photo set: which photographs, from which Debian packages, under which licence, of which kind, in
which split. Declared here once; ``photo_fetch`` builds the folder from it and ``photos`` reads its split.

Packages are pinned to their Debian 12 (bookworm) versions and checked by sha256, so a rebuild fetches the same
bytes. Splits are by scene: photos of one scene (``pool`` and ``pool_2``) share a split, so no held-out picture
has a near-twin in training. The test split spans people, man-made objects, landscapes, indoor scenes and
close-ups of nature, two photos of each, none of which any earlier zoo model saw. The eight photos bundled with
scikit-image and scikit-learn keep the roles they have in ``photos.SPLIT``, so that the export's validation
and calibration inputs (drawn from those, which need no fetch) stay inside the right split.
"""

from dataclasses import dataclass

KINDS = ("people", "objects", "landscape", "indoor", "nature", "other")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the .deb
    licence: str  # what the package's debian/copyright says for the photos taken from it
    author: str = ""


@dataclass(frozen=True)
class Photo:
    name: str
    package: str  # a Package name, or "bundled" for skimage.data / sklearn sample images
    member: str  # path inside the package (for bundled photos: the photos.load_photo name)
    kind: str
    split: str = "train"
    author: str = ""  # where the copyright file names one per file


PACKAGES = {p.name: p for p in (
    Package("kphotoalbum", "5.9.1-1", "00f8b26b5db1beb30a822d15f464b3c68ffa556d267870aa98a59aaaaf81ec43",
            "GPL-2+ (debian/copyright covers the package, demo album included)"),
    Package("mate-backgrounds", "1.26.0-1", "7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04",
            "GPL-2+ (debian/copyright, one stanza per nature/ photo)"),
    Package("lomiri-wallpapers-16.04", "20.04.0-2", "a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab",
            "per photo, from debian/copyright: see each photo's licence"),
    Package("palapeli-data", "4:22.12.3-1", "69a15dce2ac25ed8708ac518cd0cee5f4eb0c70ed15da2fdb8899a19ac0ee058",
            "GPL-2+ (debian/copyright, Files: *)"),
    Package("python-matplotlib-data", "3.6.3-1", "e4150fcebd35ea11e0f66268da97ce62f98a4cf530c944f755f241da1a9158f9",
            "matplotlib licence (PSF-based; debian/copyright, Files: *); the photo is a US Navy photograph"),
    Package("tuxpaint-data", "1:0.9.28-sdl2-1", "f5d0de8f9a70d2efc1241d19f26168cb8bf279f1b77abd3631e7a1a55c40e5e5",
            "GPL-2+ (debian/copyright, Files: *)"),
    Package("plasma-workspace-wallpapers", "4:5.27.5-2",
            "32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b", "GPL-2+ (debian/copyright, Files: *)"),
)}

# lomiri's copyright file licenses each photo on its own
LOMIRI_LICENCES = {
    "aitzgorri_by_Aitzol_Berasategi": "CC-BY-4.0", "Bridge_by_Sander_Klootwijk": "CC-BY-SA-4.0",
    "Dragonfly_by_Bolly": "CC-BY-SA-4.0", "free_by_Peter_Nerlich": "CC-BY-SA-4.0",
    "friends_by_Aitzol_Berasategi": "CC-BY-4.0", "greentock_by_Peter_Nerlich": "CC-BY-SA-4.0",
    "life_by_Aitzol_Berasategi": "CC-BY-4.0", "picosdeeuropa_by_Aitzol_Berasategi": "CC-BY-4.0",
    "Picture_0B_by_freespace": "CC-BY-4.0", "Picture_1A_by_freespace": "CC-BY-4.0",
    "seeding_by_Clements_Engelhardt": "CC0-1.0", "sunset_by_Aitzol_Berasategi": "CC-BY-4.0",
    "Wine_by_Jakkub_Mede": "CC-BY-4.0",
}

_KPA = "/usr/share/kphotoalbum/demo/"
_MATE = "/usr/share/backgrounds/mate/nature/"
_LOMIRI = "/usr/share/backgrounds/"
_PALAPELI = "/usr/share/palapeli/collection/"
_TUX = "/usr/share/tuxpaint/templates/"
_PLASMA = "/usr/share/wallpapers/"


def _kpa(stem, kind, split="train"):
    return Photo(f"kpa_{stem}", "kphotoalbum", f"{_KPA}{stem}.jpg", kind, split)


def _mate(stem, kind, split="train"):
    return Photo(f"mate_{stem}", "mate-backgrounds", f"{_MATE}{stem}.jpg", kind, split)


def _lomiri(stem, kind, split="train"):
    return Photo(f"lomiri_{stem.split('_by_')[0]}", "lomiri-wallpapers-16.04", f"{_LOMIRI}{stem}.jpg", kind, split,
                 author=stem.split("_by_")[1].replace("_", " "))


def _palapeli(stem, kind, split="train"):
    return Photo(f"palapeli_{stem}", "palapeli-data", f"{_PALAPELI}{stem}.jpg", kind, split)


def _tux(stem, kind, split="train"):
    return Photo(f"tux_{stem}", "tuxpaint-data", f"{_TUX}{stem}.jpg", kind, split)


def _plasma(folder, kind, split="train"):
    return Photo(f"plasma_{folder}", "plasma-workspace-wallpapers",
                 f"{_PLASMA}{folder}/contents/images/2560x1600.jpg", kind, split)


PHOTOS = (
    # bundled with scikit-image / scikit-learn: the roles of photos.SPLIT
    Photo("astronaut", "bundled", "astronaut", "people"),
    Photo("rocket", "bundled", "rocket", "objects"),
    Photo("china", "bundled", "china", "landscape"),
    Photo("hubble_deep_field", "bundled", "hubble_deep_field", "other"),
    Photo("retina", "bundled", "retina", "other"),
    Photo("immunohistochemistry", "bundled", "immunohistochemistry", "other"),
    Photo("flower", "bundled", "flower", "nature", "val"),
    Photo("chelsea", "bundled", "chelsea", "nature", "test"),
    Photo("coffee", "bundled", "coffee", "objects", "test"),
    # people
    _kpa("anne_helene", "people", "val"),
    _kpa("new_wave_2", "people", "test"),
    Photo("grace_hopper", "python-matplotlib-data", "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
          "people", "test"),
    _kpa("bar55", "people"), _kpa("bar55_2", "people"), _kpa("cold_water", "people"), _kpa("donna", "people"),
    _kpa("donna_2", "people"), _kpa("grand_canyon_2", "people"), _kpa("jesper", "people"),
    _kpa("jesper_2", "people"),
    # man-made objects
    _lomiri("greentock_by_Peter_Nerlich", "objects", "val"),
    _lomiri("Picture_1A_by_freespace", "objects", "test"),
    _palapeli("cincinnati-bridge", "objects", "test"),
    _kpa("snow", "objects"), _mate("Wood", "objects"), _lomiri("Bridge_by_Sander_Klootwijk", "objects"),
    _lomiri("Picture_0B_by_freespace", "objects"), _lomiri("friends_by_Aitzol_Berasategi", "objects"),
    _palapeli("castle-maintenon", "objects"), _palapeli("citrus-fruits", "objects"), _tux("lighthouse", "objects"),
    _tux("wool_mill_machine", "objects"),
    Photo("tux_skyline-sf-dusk", "tuxpaint-data", "/usr/share/tuxpaint/starters/skyline-sf-dusk-back.jpeg",
          "objects"),
    _plasma("BytheWater", "objects"), _plasma("ColdRipple", "objects"),
    _plasma("ColorfulCups", "objects"), _plasma("EveningGlow", "objects"),
    # landscapes
    _lomiri("picosdeeuropa_by_Aitzol_Berasategi", "landscape", "val"),
    _lomiri("aitzgorri_by_Aitzol_Berasategi", "landscape", "test"),
    _tux("ocean_waves", "landscape", "test"),
    _kpa("grand_canyon_3", "landscape"), _kpa("skagen", "landscape"), _kpa("skagen_2", "landscape"),
    _kpa("sunset", "landscape"), _mate("Dune", "landscape"), _mate("Storm", "landscape"),
    _lomiri("life_by_Aitzol_Berasategi", "landscape"), _lomiri("sunset_by_Aitzol_Berasategi", "landscape"),
    _tux("cliff", "landscape"), _tux("sheep", "landscape"), _tux("sun_behind_clouds", "landscape"),
    _plasma("DarkestHour", "landscape"), _plasma("Path", "landscape"),
    _plasma("summer_1am", "landscape"),
    # indoor scenes
    _kpa("blackie", "indoor", "val"),
    _lomiri("Wine_by_Jakkub_Mede", "indoor", "test"),
    _kpa("spiff_2", "indoor", "test"),
    _kpa("pool", "indoor"), _kpa("pool_2", "indoor"), _lomiri("free_by_Peter_Nerlich", "indoor"),
    # close-ups of nature
    _mate("YellowFlower", "nature", "val"),
    _kpa("spiff", "nature", "test"),
    _palapeli("european-honey-bee", "nature", "test"),
    _tux("mossy_log", "nature", "test"),
    _mate("Aqua", "nature"), _mate("Blinds", "nature"), _mate("FreshFlower", "nature"), _mate("Garden", "nature"),
    _mate("GreenMeadow", "nature"), _mate("LadyBird", "nature"), _mate("RainDrops", "nature"),
    _mate("TwoWings", "nature"), _lomiri("Dragonfly_by_Bolly", "nature"),
    _lomiri("seeding_by_Clements_Engelhardt", "nature"), _palapeli("panther-chameleon-female", "nature"),
    _tux("burnt_bark", "nature"), _tux("corn_maze", "nature"), _tux("jellyfish", "nature"),
    _tux("mossy_bark", "nature"), _tux("mudstone", "nature"), _tux("ocean_splash", "nature"),
    _tux("redwoods_above", "nature"), _tux("rocks", "nature"), _tux("spiders_web", "nature"),
    _tux("sun_behind_leaves", "nature"), _tux("trees_above", "nature"), _tux("trees_at_dusk", "nature"),
    _plasma("FallenLeaf", "nature"), _plasma("Kite", "nature"),
    _plasma("OneStandsOut", "nature"),
)


def licence(photo: Photo) -> str:
    if photo.package == "bundled":
        return "bundled with scikit-image or scikit-learn (their documented sources; public domain or free licences)"
    if photo.package == "lomiri-wallpapers-16.04":
        return LOMIRI_LICENCES[photo.member.rsplit("/", 1)[1].removesuffix(".jpg")]
    return PACKAGES[photo.package].licence
