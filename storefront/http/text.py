"""Control characters in text input: found, and named, before anything stores or logs them.

NUL cannot be stored in a PostgreSQL text column (the insert fails: a 500),
SQLite stores it as is, and the other C0 controls and DEL corrupt logs and
terminals. No field of storefront's API documents a use for them, so every
text input refuses them: JSON strings (and object keys), query parameters and
the path, each reported with the name of the field that held one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["control_character_in", "first_control_character_field", "has_control_character"]

# C0 controls (tab and newline included: no field here is multi-line) and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_character(text: str) -> bool:
    return _CONTROL.search(text) is not None


def control_character_in(text: str) -> str | None:
    """The first control character in ``text`` as ``U+0000``, or ``None``."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def first_control_character_field(document: object, where: str = "") -> str | None:
    """The path (``items[0].sku``) of the first string or key in ``document`` that has one."""
    if isinstance(document, str):
        return (where or "(body)") if has_control_character(document) else None
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and has_control_character(key):
                return path
            found = first_control_character_field(value, path)
            if found is not None:
                return found
    elif isinstance(document, list):
        return _first_in_items(document, where)
    return None


def _first_in_items(items: Iterable[object], where: str) -> str | None:
    for index, value in enumerate(items):
        found = first_control_character_field(value, f"{where}[{index}]")
        if found is not None:
            return found
    return None
