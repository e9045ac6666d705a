"""Import heavy optional dependencies where they are used, with an error naming the extra to install."""

import importlib
from types import ModuleType

from visionrt.errors import MissingExtraError


def require(module: str, extra: str | None) -> ModuleType:
    """Import ``module`` or raise MissingExtraError telling the user which visionrt extra provides it.

    ``extra=None`` marks a base dependency of visionrt itself.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        fix = f"pip install 'visionrt[{extra}]'" if extra else "pip install visionrt  (a base dependency)"
        raise MissingExtraError(f"'{module}' is needed here but cannot be imported ({exc}); install it with `{fix}`") from exc
