"""Import heavy optional dependencies where they are used, with an error naming the extra to install."""

import importlib
from types import ModuleType

from visionrt.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise MissingExtraError telling the user which visionrt extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"'{module}' is needed here but is not installed ({exc}); install it with "
            f"`pip install 'visionrt[{extra}]'`"
        ) from exc
