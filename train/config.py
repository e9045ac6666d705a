"""Training configs: each model's dataclass holds its defaults (the ones `visionrt zoo rebuild` trains the
shipped model with), and the caller's overrides go over them."""

from typing import ClassVar

from visionrt.errors import UserInputError


class FromSpec:
    """Mixin for a dataclass config: ``from_spec(**overrides)`` is the defaults with the given overrides.

    Overrides that are None are ignored (an option the user did not give); overrides the config has no
    field for are refused by name, so that e.g. ``--search`` for a model without search is not dropped silently.
    """

    MODEL: ClassVar[str]

    @classmethod
    def from_spec(cls, **overrides):
        given = {k: v for k, v in overrides.items() if v is not None}
        unsupported = sorted(set(given) - set(cls.__dataclass_fields__))
        if unsupported:
            names = ", ".join("--" + name.replace("_", "-") for name in unsupported)
            raise UserInputError(f"{cls.MODEL} training does not support: {names}")
        return cls(**given)
