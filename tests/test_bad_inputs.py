"""The catalogue of bad and unusual inputs, as the runtime and as the command line meet them: each gets the
right answer or a clear error that names the problem, and nothing that was written is lost."""

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visionrt import cli, runtime
from visionrt.errors import NonFiniteOutputError, UserInputError
from visionrt.model_zoo import samples_dir

DIGITS = sorted(samples_dir("digits").glob("digit_*.png"))


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (a few hundred bytes: the pixels are never there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


# ---- silent wrong answers ----------------------------------------------------------------------------------

def test_light_ink_on_dark_digits_are_read_as_digits_and_the_result_says_so(digits_test_split):
    images, labels = digits_test_split
    model = runtime.load("digits")
    light = [255 - image for image in images]
    found = model.classify(list(light))
    assert np.mean([int(p.label) for p in found] == labels) >= 0.99 and {p.ink for p in found} == {"light"}
    assert model.classify(images[0]).ink == "dark" and model.classify(light[0], ink="dark").ink == "dark"


def test_a_style_input_whose_sides_are_not_multiples_of_four_is_refused_by_run():
    with pytest.raises(UserInputError, match=r"multiples of 4, got 30x30; pad to 32x32"):
        runtime.load("style").run(np.zeros((1, 3, 30, 30), np.float32))


def test_huge_finite_values_that_overflow_inside_the_network_are_an_error_not_a_result():
    with pytest.raises(NonFiniteOutputError, match="output 'logits' holds .* NaN or Inf value"):
        runtime.load("digits").run(np.full((1, 1, 8, 8), 3e38, np.float32))


def test_a_batch_beyond_the_artifacts_range_is_refused_with_the_range():
    with pytest.raises(UserInputError, match=r"the batch is 65, outside the artifact's range \[1, 64\]"):
        runtime.load("digits").run(np.zeros((65, 1, 8, 8), np.float32))


def test_sixteen_bit_rotated_cmyk_and_palette_images_are_seen_as_a_viewer_shows_them(tmp_path):
    model = runtime.load("digits")
    seven = Image.open(samples_dir("digits") / "digit_7.png").convert("L")
    sixteen = Image.fromarray(np.asarray(seven, np.uint16) * 257)  # mode I;16, full range
    assert sixteen.mode == "I;16" and model.classify(sixteen).label == "7"
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    seven.convert("RGB").rotate(90, expand=True).save(rotated, exif=exif, quality=95)
    assert model.classify(rotated).label == "7"
    assert model.classify(seven.convert("CMYK")).label == "7" and model.classify(seven.convert("P")).label == "7"


def test_a_file_of_several_frames_is_refused_by_name(tmp_path):
    frames = [Image.open(path).convert("L") for path in DIGITS[:3]]
    frames[0].save(tmp_path / "three.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(UserInputError, match="three.gif holds 3 frames"):
        runtime.load("digits").classify(tmp_path / "three.gif")


# ---- memory ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("side", [12000, 20000])  # over visionrt's limit; 20000 is also past Pillow's bomb check
def test_an_oversized_image_is_refused_from_its_header_before_decoding(tmp_path, side):
    path = png_header_only(tmp_path / "huge.png", side, side)
    with pytest.raises(UserInputError, match="huge.png .*(over the limit of 134,217,728|too large to decode)"):
        runtime.load("denoiser").denoise(path)


def test_the_pixel_limit_is_the_models_own_setting(tmp_path):
    model = runtime.load("digits")
    model.max_pixels = 100
    with pytest.raises(UserInputError, match=r"32x32 \(1,024 pixels\), over the limit of 100"):
        model.classify(DIGITS[0])


def test_a_tiny_file_that_would_become_a_huge_strip_is_refused_before_it_is_resized(tmp_path):
    Image.new("L", (200000, 1), 255).save(tmp_path / "strip.png")
    assert (tmp_path / "strip.png").stat().st_size < 2000
    with pytest.raises(UserInputError, match="3200000 px wide at the model's 16 px height; the model takes at most 1024"):
        runtime.load("digit_reader").read(tmp_path / "strip.png")


# ---- clear errors instead of raw ones ----------------------------------------------------------------------

def test_a_folder_given_as_an_image_is_called_a_folder_and_an_address_an_address(tmp_path, capsys):
    with pytest.raises(UserInputError, match="is a folder, not an image file"):
        runtime.load("digits").classify(tmp_path)
    with pytest.raises(UserInputError, match="https://example.org/seven.png is an address; visionrt reads local files"):
        runtime.load("digits").classify("https://example.org/seven.png")
    assert cli.main(["run", "digits", "https://example.org/seven.png"]) == 2
    assert "https://example.org/seven.png is an address" in capsys.readouterr().err


@pytest.mark.parametrize("typo, meant", [("vea", "vae"), ("digts", "digits"), ("faceswp", "faceswap")])
def test_a_mistyped_name_is_offered_every_loadable_name_it_resembles(typo, meant):
    with pytest.raises(UserInputError, match=f"did you mean '{meant}'"):
        runtime.load(typo)


def test_a_plain_name_is_the_zoo_model_even_beside_a_folder_of_that_name(tmp_path, monkeypatch, capsys):
    (tmp_path / "digits").mkdir()
    monkeypatch.chdir(tmp_path)
    assert runtime.load("digits").metadata.model == "digits"
    with pytest.raises(Exception, match="holds no version folder"):
        runtime.load("./digits")


# ---- the command line loses nothing ------------------------------------------------------------------------

def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["run", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_output_path_that_is_a_file_or_cannot_be_made_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("mine")
    for target, why in [(tmp_path / "taken", "is a file"), (Path("/proc/visionrt-out"), "is not writable")]:
        code, _, err = run_cli(capsys, "denoiser", samples_dir("denoiser").glob("*.png").__next__(), "-o", target)
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "taken").read_text() == "mine"


def test_inputs_with_the_same_name_in_two_folders_get_two_outputs(tmp_path, capsys):
    first = next(samples_dir("denoiser").glob("*.png"))
    for folder in ("a", "b"):
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / "photo.png").write_bytes(first.read_bytes())
    code, _, _ = run_cli(capsys, "denoiser", tmp_path / "in/a/photo.png", tmp_path / "in/b/photo.png", "-o", tmp_path / "out")
    assert code == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == \
        ["a/photo_denoised.png", "b/photo_denoised.png"]


def test_an_existing_output_is_kept_unless_overwrite(tmp_path, capsys):
    photo = next(samples_dir("denoiser").glob("*.png"))
    target = tmp_path / f"{photo.stem}_denoised.png"
    target.write_bytes(b"earlier work")
    code, _, err = run_cli(capsys, "denoiser", photo, "-o", tmp_path)
    assert code == 2 and "exists; pass --overwrite" in err and target.read_bytes() == b"earlier work"
    assert (tmp_path / "results_denoiser.json").is_file()
    code, _, _ = run_cli(capsys, "denoiser", photo, "-o", tmp_path, "--overwrite")
    assert code == 0 and Image.open(target).size == Image.open(photo).size
    assert (tmp_path / "results_denoiser-1.json").is_file() is False  # --overwrite replaced the results file too


def test_one_bad_input_among_many_loses_none_of_the_good_results(tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    code, out, err = run_cli(capsys, "digits", DIGITS[3], broken, tmp_path / "missing.png", DIGITS[5], "-o", tmp_path)
    assert code == 2 and "digit_3.png: 3 (" in out and "digit_5.png: 5 (" in out
    assert "broken.png: " in err and "is not a readable image" in err and "missing.png: image file not found" in err
    assert "2 of 4 input(s) failed" in err
    written = json.loads((tmp_path / "results_digits.json").read_text())
    assert [r["label"] for r in written["results"]] == ["3", "5"] and len(written["failed"]) == 2


def test_the_backend_choice_is_one_short_line_and_the_full_reasons_need_verbose(capsys):
    code, out, _ = run_cli(capsys, "vae", DIGITS[0], "-o", "/tmp/visionrt-test-vae-out", "--overwrite")
    first = out.splitlines()[0]
    assert code == 0 and first.startswith("<VAE ") and len(first) < 240 and "unavailable" not in out
    code, out, _ = run_cli(capsys, "digits", DIGITS[0], "--verbose")
    assert code == 0 and any(line.startswith("  precision fp32") for line in out.splitlines())


def test_onnx_runtimes_own_error_lines_stay_quiet_when_visionrt_explains_the_error(tmp_path, capfd):
    broken = tmp_path / "model.onnx"
    broken.write_bytes(io.BytesIO(b"\x08\x07\x12\x04test").getvalue())
    assert cli.main(["run", str(broken), str(DIGITS[0])]) == 2
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("visionrt run: error: ")


def test_a_png_whose_text_chunk_would_decompress_past_pillows_limit_is_named_not_a_crash(tmp_path, capsys):
    good = DIGITS[3].read_bytes()
    text = b"Comment\x00\x00" + zlib.compress(b"\0" * (2 << 20))
    chunk = struct.pack(">I", len(text)) + b"zTXt" + text + struct.pack(">I", zlib.crc32(b"zTXt" + text))
    (tmp_path / "bomb.png").write_bytes(good[:33] + chunk + good[33:])  # after the IHDR chunk
    code, out, err = run_cli(capsys, "digits", DIGITS[3], tmp_path / "bomb.png")
    assert code == 2 and "digit_3.png: 3 (" in out and "bomb.png: " in err and "is not a readable image" in err


def test_tiny_and_thin_images_are_colorized_not_refused():
    from PIL import Image as PILImage

    model = runtime.load("colorizer")
    assert model.colorize(PILImage.new("L", (10, 10), 128)).size == (10, 10)
    assert model.colorize(PILImage.new("L", (2000, 40), 128)).size == (2000, 40)


def test_two_inputs_differing_only_in_extension_get_two_outputs(tmp_path, capsys):
    photo = Image.open(next(samples_dir("denoiser").glob("*.png")))
    photo.save(tmp_path / "x.png")
    photo.convert("RGB").save(tmp_path / "x.jpg", quality=95)
    code, _, _ = run_cli(capsys, "denoiser", tmp_path / "x.png", tmp_path / "x.jpg", "-o", tmp_path / "out")
    assert code == 0 and sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["x.jpg_denoised.png",
                                                                                       "x.png_denoised.png"]
