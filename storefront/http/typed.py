"""Typed request bodies: a parsed JSON document checked against a ``msgspec.Struct``.

``ApiInputMiddleware`` has already parsed the body (and refused bad JSON and
control characters); ``typed_body`` converts that document into the view's
Struct in one strict pass (no ``"2"`` for an int, no ``true`` for an id), or
raises ``BodyError`` naming the field msgspec stopped at (``items[1].qty``).
The same Structs give the OpenAPI schema its request bodies (storefront/apidocs/).
msgspec reports the first mistake it finds, so ``fields`` holds one name.
"""

from __future__ import annotations

import re

import msgspec

__all__ = ["BodyError", "convert", "error_field"]

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")


class BodyError(Exception):
    """The document does not fit the type: ``field`` names where (``""``: the whole body)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def error_field(error: msgspec.ValidationError) -> str:
    """``items[1].qty`` from msgspec's ``... - at `$.items[1].qty```; ``""`` for the root."""
    text = str(error)
    found = _AT.search(text)
    path = found.group("path").lstrip(".") if found else ""
    missing = _MISSING.search(text)
    if missing is not None:
        path = f"{path}.{missing.group('name')}" if path else missing.group("name")
    return path


def convert[T](document: object, type_: type[T]) -> T:
    try:
        return msgspec.convert(document, type_, strict=True)
    except msgspec.ValidationError as error:
        field = error_field(error)
        message = _AT.sub("", str(error))
        raise BodyError(field, f"{field}: {message}" if field else message) from None
