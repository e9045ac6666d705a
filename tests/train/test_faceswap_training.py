"""Face-swap training pieces: the warp, a tiny run with both graphs exported, and the real-data path."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from visionrt.errors import UserInputError  # noqa: E402
from visionrt.train import faceswap  # noqa: E402


def test_random_warp_moves_pixels_smoothly_and_keeps_the_shape():
    x = torch.rand(4, 3, 64, 64)
    warped, flip = faceswap.random_warp(x, 0.05, torch.Generator().manual_seed(0))
    assert warped.shape == x.shape and flip.shape == (4,)
    unflipped = torch.where(flip[:, None, None, None], warped.flip(-1), warped)
    assert 0 < float((unflipped - x).abs().mean()) < 0.3


def test_tiny_run_writes_both_directions_and_they_export(tmp_path):
    from visionrt import runtime
    from visionrt.export import ExportOptions, export_checkpoint

    config = faceswap.FaceSwapTrainConfig.from_spec(steps=2, eval_every=2, faces_per_identity=8, width=4,
                                                    bottleneck=8, batch_size=2, runs_dir=tmp_path, progress=False)
    run = faceswap.train_faceswap(config)
    repository = tmp_path / "repository"
    for direction in ("a", "b"):
        report = export_checkpoint(run / f"faceswap_to_{direction}.pt", ExportOptions(repository=repository))
        assert report["parity"]["fp32_vs_pytorch"]["sets"]["real_batch1"]["max_abs_error"] < 1e-4
    model = runtime.load(repository / "faceswap_to_b", backend="onnxruntime:cpu")
    out = model.transform(np.zeros((100, 80, 3), np.uint8))
    assert out.size == (80, 100)


def test_real_face_folders_are_loaded_and_checked(tmp_path):
    from PIL import Image

    for identity in ("a", "b"):
        (tmp_path / identity).mkdir()
        for i in range(8):
            Image.new("RGB", (90, 90), (i * 20, 100, 50)).save(tmp_path / identity / f"{i}.png")
    a, b, mask_a, mask_b = faceswap.training_faces(faceswap.FaceSwapTrainConfig.from_spec(data=tmp_path))
    assert a.shape == b.shape == (8, 3, 64, 64)
    assert mask_a.shape == (8, 1, 64, 64) and mask_a.min() == 1.0  # no masks: the swap replaces the whole crop
    (tmp_path / "few").mkdir()
    with pytest.raises(UserInputError, match="needs at least 8 per identity"):
        faceswap.load_folder(tmp_path / "few")


def test_code_alignment_penalty_is_zero_for_one_distribution_and_grows_with_a_shift():
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(64, 8, generator=generator)
    same = faceswap.mmd(a[:32], a[32:])
    shifted = faceswap.mmd(a[:32], a[32:] + 2.0)
    assert abs(float(faceswap.mmd(a[:32], a[:32]))) < 1e-6
    assert float(shifted) > 10 * abs(float(same))


def test_drawing_loss_weighs_colour_errors_outside_the_mask_by_the_background_weight():
    target = torch.zeros(1, 4, 4, 4)
    target[:, 3, :, :2] = 1.0  # the face covers the left half
    drawn = target.clone()
    assert float(faceswap.drawing_loss(drawn, target, 0.1)) == 0.0
    drawn[:, :3, :, 2:] = 1.0  # colour wrong in the background only
    assert float(faceswap.drawing_loss(drawn, target, 0.1)) == pytest.approx(0.1 * 0.5)
    assert float(faceswap.drawing_loss(drawn, target, 1.0)) == pytest.approx(0.5)
    drawn[:, 3] = 1.0  # and the mask wrong on that half
    assert float(faceswap.drawing_loss(drawn, target, 1.0)) == pytest.approx(1.0)


def test_a_tenth_of_each_folder_is_held_out_and_never_trained_on():
    crops = np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1) * np.ones((1, 3, 2, 2), np.float32)
    train, masks, held = faceswap.hold_out(crops, np.ones_like(crops[:, :1]), seed=0)
    assert len(train) == len(masks) == 18 and len(held) == 2
    assert not set(held[:, 0, 0, 0]) & set(train[:, 0, 0, 0])
    assert np.array_equal(held, faceswap.hold_out(crops, np.ones_like(crops[:, :1]), seed=0)[2])
    assert len(faceswap.hold_out(crops[:8], np.ones_like(crops[:8, :1]), seed=0)[2]) == 1


def test_training_on_face_folders_reports_held_out_redraws_not_renders(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for identity in ("a", "b"):
        (tmp_path / "faces" / identity).mkdir(parents=True)
        for i in range(10):
            pixels = (rng.random((70, 70, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "faces" / identity / f"{i}.png")
    config = faceswap.FaceSwapTrainConfig.from_spec(data=tmp_path / "faces", steps=2, eval_every=1, width=4,
                                                    bottleneck=8, batch_size=2, runs_dir=tmp_path, progress=False)
    run = faceswap.train_faceswap(config)
    metrics = torch.load(run / "faceswap_to_b.pt", weights_only=False)["metrics"]
    assert metrics["held_out_crops"] == [1, 1] and "a_to_b" not in metrics
    assert metrics["reconstruction_a_psnr_db"] > 0 and (run / "before_after.png").is_file()
