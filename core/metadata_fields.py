"""Checked reading of a JSON object, field by field, for the artifact contract's one reader
(``artifact.read``): each failure names the file, the field, what it holds and what was expected."""

import json
import math

from visionrt.errors import ArtifactError


class Fields:
    """Reads one JSON object field by field, each checked, with errors that name the file and the field."""

    def __init__(self, doc, origin: str, prefix: str = ""):
        self.origin, self.prefix = origin, prefix
        if not isinstance(doc, dict):
            self.fail(prefix.rstrip("."), doc, "a JSON object")
        self.doc = doc

    def fail(self, name: str, value, expected: str):
        shown = json.dumps(value)[:80] if jsonable(value) else repr(value)[:80]
        what = f"visionrt metadata field '{name}'" if name else "the visionrt metadata"
        raise ArtifactError(f"{self.origin}: {what} holds {shown} "
                            f"({kind_of(value)}), expected {expected}; re-export the model")

    def get(self, name: str, check, expected: str, default=...):
        """The field's value if ``check(value)`` holds; ``default`` when it is absent (required without one)."""
        if name not in self.doc or (self.doc[name] is None and default is not ...):
            if default is ...:
                raise ArtifactError(f"{self.origin}: visionrt metadata has no field '{self.prefix}{name}' "
                                    f"(expected {expected}); re-export the model")
            return default
        value = self.doc[name]
        if not check(value):
            self.fail(self.prefix + name, value, expected)
        return value

    def nested(self, name: str) -> "Fields":
        return Fields(self.doc.get(name), self.origin, f"{self.prefix}{name}.")


def jsonable(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def kind_of(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def is_int(value, low: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_text(value) -> bool:
    return isinstance(value, str) and value != ""


def list_of(check, length: int | None = None):
    return lambda value: isinstance(value, list) and (length is None or len(value) == length) and all(map(check, value))
