"""The VAE through the runtime: its sample-quality bar, seeded sampling, and the four task methods."""

import numpy as np
import pytest

from visionrt import model_zoo, runtime
from visionrt.errors import UserInputError

pytestmark = pytest.mark.skipif(not all(model_zoo.installed(p) for p in ("vae_encoder", "vae_decoder")),
                                reason="the VAE is not in the zoo yet")


@pytest.fixture(scope="module")
def vae():
    return runtime.load("vae", backend="onnxruntime:cpu")


def test_prior_samples_look_like_digits_to_the_zoo_classifier(vae):
    classifier = runtime.load("digits", backend="onnxruntime:cpu")
    predictions = classifier.classify(vae.sample(1000, seed=0))
    assert np.mean([p.probability for p in predictions]) >= 0.8
    assert {p.label for p in predictions} == {str(d) for d in range(10)}


def test_sampling_is_seeded(vae):
    a, b, c = vae.sample(3, seed=5), vae.sample(3, seed=5), vae.sample(3, seed=6)
    assert [np.asarray(x).tolist() for x in a] == [np.asarray(x).tolist() for x in b]
    assert [np.asarray(x).tolist() for x in a] != [np.asarray(x).tolist() for x in c]


def test_encode_decode_and_reconstruct(vae, digits_test_split):
    images, labels = digits_test_split
    mu, logvar = vae.encode(list(images[:5]))
    assert mu.shape == logvar.shape == (5, vae.latent)
    assert [im.size for im in vae.decode(mu)] == [(8, 8)] * 5
    big = np.kron(images[0], np.ones((4, 4), np.uint8))  # 32 x 32
    assert vae.reconstruct(big).size == (32, 32)
    classifier = runtime.load("digits", backend="onnxruntime:cpu")
    agreement = np.mean([p.label == str(y) for p, y in zip(classifier.classify(vae.reconstruct(list(images))), labels)])
    assert agreement >= 0.8  # reconstructions keep the digit's identity


def test_bad_latents_and_counts_are_refused(vae):
    with pytest.raises(UserInputError, match=r"z must have shape \(N, 8\)"):
        vae.decode(np.zeros((2, 3)))
    with pytest.raises(UserInputError, match="n >= 1"):
        vae.sample(0)


def test_neither_graph_holds_a_random_op():
    onnx = pytest.importorskip("onnx")
    for part in ("vae_encoder", "vae_decoder"):
        for name in ("model.onnx", "model_fp16.onnx"):
            ops = {n.op_type for n in onnx.load(str(model_zoo.model_dir(part) / "1" / name)).graph.node}
            assert not {op for op in ops if op.startswith("Random")}, (part, name, ops)
