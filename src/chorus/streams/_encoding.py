"""Event data to JSON text: orjson, with ``Decimal`` (money) as its exact string."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["dump_event_data"]


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent in a live event")


def dump_event_data(data: Mapping[str, Any]) -> str:
    return orjson.dumps(data, default=_default).decode()
