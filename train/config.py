"""Training configs built from a model's registry defaults plus the caller's overrides."""

from typing import ClassVar

from visionrt.errors import UserInputError


class FromSpec:
    """Mixin for a dataclass config: ``from_spec(**overrides)`` starts from the registry's train_defaults.

    Overrides that are None are ignored (an option the user did not give); overrides the config has no
    field for are refused by name, so that e.g. ``--search`` for a model without search is not dropped silently.
    """

    MODEL: ClassVar[str]

    @classmethod
    def from_spec(cls, **overrides):
        from visionrt.model_zoo import get as get_spec

        given = {k: v for k, v in overrides.items() if v is not None}
        unsupported = sorted(set(given) - set(cls.__dataclass_fields__))
        if unsupported:
            names = ", ".join("--" + name.replace("_", "-") for name in unsupported)
            raise UserInputError(f"{cls.MODEL} training does not support: {names}")
        return cls(**{**get_spec(cls.MODEL).train_defaults, **given})
