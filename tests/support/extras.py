"""Tests that need an optional extra say which, and skip without it, so the runtime's own tests run where
only the base install (numpy, pillow, onnxruntime) and pytest are."""

import pytest

EXTRA_OF = {"sklearn": "train", "skimage": "train", "onnx": "train", "torch": "train"}


def needs(module: str):
    """``module``, imported, or the test skipped naming the extra that installs it."""
    top = module.split(".")[0]
    return pytest.importorskip(module, reason=f"needs {top} (pip install 'visionrt[{EXTRA_OF.get(top, top)}]')")
