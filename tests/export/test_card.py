"""Model cards are generated from the artifact, with parameter and MAC counts that can be checked by hand."""

import shutil

import pytest

torch = pytest.importorskip("torch")


def test_mac_count_of_the_course_convolution():
    from visionrt.export.card import count_macs

    conv = torch.nn.Conv2d(1, 1, 3, bias=False)
    assert count_macs(conv, torch.zeros(1, 1, 8, 8)) == 6 * 6 * 9
    assert count_macs(torch.nn.Linear(10, 4), torch.zeros(1, 10)) == 40


def test_card_reports_metrics_baseline_parity_and_pictures(tmp_path, monkeypatch, shipped_dir):
    from visionrt import zoo_listing as listing

    shutil.copytree(shipped_dir, tmp_path / "digits")
    monkeypatch.setenv("VISIONRT_ZOO", str(tmp_path))
    text = listing.write_card("digits").read_text()
    for expected in ("# digits", "151,498 parameters", "| accuracy | 0.99", "RBF SVM test accuracy",
                     "| fp16_vs_fp32 | real_batch64 | 360 |", "![Confusion matrix on the test split](confusion_matrix.png)"):
        assert expected in text, expected
