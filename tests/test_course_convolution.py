"""The course's worked convolution example, checked by hand, through torch, and through the runtime."""

import numpy as np
import pytest

SOURCE = np.array([[5, 2, 6, 8, 2, 0, 1, 2], [4, 3, 4, 5, 1, 9, 6, 3], [3, 9, 2, 4, 7, 7, 6, 9],
                   [1, 3, 4, 6, 8, 2, 2, 1], [8, 4, 6, 2, 3, 1, 8, 8], [5, 8, 9, 0, 1, 0, 2, 3],
                   [9, 2, 6, 6, 3, 6, 2, 1], [9, 8, 8, 2, 6, 3, 4, 5]], dtype=np.float32)
KERNEL = np.array([[-1, 0, 1], [2, 1, 2], [1, -2, 0]], dtype=np.float32)


def by_hand(source: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation, the operation deep-learning 'convolution' layers compute."""
    k = kernel.shape[0]
    size = source.shape[0] - k + 1
    return np.array([[(source[i : i + k, j : j + k] * kernel).sum() for j in range(size)] for i in range(size)])


def torch_conv():
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(1, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(KERNEL)[None, None])
    return conv.eval()


def test_top_left_of_destination_is_5():
    assert by_hand(SOURCE, KERNEL)[0, 0] == 5


def test_torch_conv2d_gives_the_whole_6x6_destination():
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        out = torch_conv()(torch.from_numpy(SOURCE)[None, None])[0, 0].numpy()
    assert out.shape == (6, 6)
    np.testing.assert_array_equal(out, by_hand(SOURCE, KERNEL))


def test_exported_onnx_run_by_the_runtime_agrees_with_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from visionrt.export.onnx_export import export_onnx
    from visionrt import runtime

    conv = torch_conv()
    path = export_onnx(conv, "source", ("destination",), torch.from_numpy(SOURCE)[None, None].repeat(2, 1, 1, 1),
                       tmp_path / "conv.onnx")
    model = runtime.load(path, backend="onnxruntime:cpu")
    out = model.run(SOURCE[None, None])[0, 0]
    with torch.no_grad():
        expected = conv(torch.from_numpy(SOURCE)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert out[0, 0] == pytest.approx(5.0)
    assert model.metadata is None  # a bare ONNX file with no visionrt metadata still runs
