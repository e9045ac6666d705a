"""The VAE's loss as the issue defines it, and a tiny training run producing both graphs' checkpoints."""

import pytest

torch = pytest.importorskip("torch")

from visionrt.model_zoo.vae import VAE  # noqa: E402
from visionrt.train import checkpoint, vae  # noqa: E402


def test_loss_is_per_sample_sums_averaged_over_the_batch():
    model = VAE(latent=4, hidden=16).eval()
    ink = torch.rand(6, 1, 8, 8)
    noise = torch.randn(6, 4)
    loss1, recon, kl = vae.loss_terms(model, ink, noise, beta=1.0)
    loss3, _, _ = vae.loss_terms(model, ink, noise, beta=3.0)
    assert torch.isclose(loss3 - loss1, 2 * kl)
    decoded, mu, logvar = model(ink, noise)
    per_sample = torch.nn.functional.binary_cross_entropy(decoded, ink, reduction="none").sum((1, 2, 3))
    assert torch.isclose(recon, per_sample.mean())
    expected_kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)).mean()
    assert torch.isclose(kl, expected_kl)


def test_a_short_run_writes_both_graphs_and_the_pictures(tmp_path):
    config = vae.VAETrainConfig.from_spec(epochs=2, hidden=16, runs_dir=tmp_path, progress=False)
    run = vae.train_vae(config)
    encoder, decoder = checkpoint.load(run / "vae_encoder.pt"), checkpoint.load(run / "vae_decoder.pt")
    assert (encoder["model"], decoder["model"]) == ("vae_encoder", "vae_decoder")
    assert encoder["beta"] == 1.0 and decoder["latent"] == 8
    assert checkpoint.build_model(decoder)(torch.zeros(2, 8)).shape == (2, 1, 8, 8)
    for picture in ("samples.png", "interpolation.png", "loss_curve.png"):
        assert (run / picture).is_file()
    assert vae.validation_inputs(decoder).shape == (256, 8)
