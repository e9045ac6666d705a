"""Training configs hold their defaults once and refuse options they cannot honour."""

import pytest

from visionrt.errors import UserInputError
from visionrt.model_zoo import get, names, resolve


@pytest.mark.parametrize("name", names())
def test_the_config_without_overrides_is_its_dataclass_defaults(name):
    config_class = resolve(get(name).train_config)
    assert config_class.from_spec() == config_class()


def test_unset_options_are_ignored_and_unknown_ones_refused_by_flag_name():
    config_class = resolve(get("denoiser").train_config)
    assert config_class.from_spec(epochs=None, seed=3).seed == 3
    with pytest.raises(UserInputError, match="denoiser training does not support: --epochs, --search"):
        config_class.from_spec(epochs=5, search="random")
