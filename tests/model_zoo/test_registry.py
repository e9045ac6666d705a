"""The registry: every entry resolves, builds, and is readable without torch."""

import subprocess
import sys

import pytest

from visionrt import model_zoo
from visionrt.errors import UserInputError


def test_digits_is_registered_with_its_io():
    spec = model_zoo.get("digits")
    assert spec.task == "classification"
    assert (spec.input_name, spec.input_shape, spec.output_names) == ("image", (1, 8, 8), ("logits",))


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UserInputError, match="unknown zoo model 'nope'.*digits"):
        model_zoo.get("nope")


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        model_zoo.register(model_zoo.get("digits"))


def test_a_model_is_installed_once_its_repository_entry_has_a_triton_config(monkeypatch, tmp_path):
    monkeypatch.setenv("VISIONRT_ZOO", str(tmp_path))
    (tmp_path / "digits" / "1").mkdir(parents=True)
    assert not model_zoo.installed("digits")  # a half-written entry is not one the runtime or Triton can serve
    (tmp_path / "digits" / "config.pbtxt").write_text('name: "digits"')
    assert model_zoo.installed("digits")
    assert not model_zoo.installed("style")


@pytest.mark.parametrize("name", model_zoo.names())
def test_every_entry_builds_and_maps_its_input_to_one_output_per_name(name):
    torch = pytest.importorskip("torch")
    spec = model_zoo.get(name)
    model = model_zoo.resolve(spec.architecture)().eval()
    with torch.no_grad():
        out = model(torch.zeros(3, *(64 if d is None else d for d in spec.input_shape)))
    outputs = out if isinstance(out, tuple) else (out,)
    assert len(outputs) == len(spec.output_names) and all(o.shape[0] == 3 for o in outputs)
    for target in (spec.trainer, spec.train_config, spec.validation_data, spec.samples):
        assert callable(model_zoo.resolve(target))


def test_the_registry_imports_without_torch():
    code = "import sys, visionrt.model_zoo as z; z.get('digits'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
