"""Fault settings: what a service does to a request besides answering it.

One frozen ``FaultSettings`` per service, replaced wholesale on every change, so
a request that has read its settings is never affected by a change made while
it waits. The same keys arrive from two places — a JSON body on
``PUT /_faults/<service>`` and query parameters on a single request — and both
go through one validator, so they can never disagree on what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["FAULTS", "FaultError", "FaultSettings", "parse_json_overrides", "parse_query_overrides"]

FAULTS = ("hang", "reset", "invalid_json", "oversize", "slow_body")


class FaultError(ValueError):
    """A fault setting that cannot be applied; the message names the problem."""


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """How one service misbehaves.

    ``rate`` is the share of requests that get ``status`` and ``fault``; the
    latency (plus up to ``jitter_ms`` of uniform jitter) applies to every request.
    """

    latency_ms: float = 100
    jitter_ms: float = 0
    status: int = 200
    fault: str | None = None
    rate: float = 1.0
    oversize_bytes: int = 4 * 1024 * 1024
    slow_body_ms: float = 2000

    def with_overrides(self, overrides: Mapping[str, Any]) -> FaultSettings:
        return dataclasses.replace(self, **overrides)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_KEYS = frozenset(field.name for field in dataclasses.fields(FaultSettings))
_NUMBER_KEYS = frozenset({"latency_ms", "jitter_ms", "slow_body_ms", "rate"})
_INT_KEYS = frozenset({"status", "oversize_bytes"})


def _check(key: str, value: Any) -> Any:
    if key == "fault":
        if value is not None and value not in FAULTS:
            raise FaultError(f"fault must be null or one of {', '.join(FAULTS)}, not {value!r}")
        return value
    # bool is an int to Python, never to a client that sent true.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultError(f"{key} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise FaultError(f"{key} must be a finite number, not {value!r}")
    if key in _INT_KEYS and value != int(value):
        raise FaultError(f"{key} must be a whole number, not {value!r}")
    if key == "status" and not 200 <= value <= 599:
        raise FaultError(f"status must be between 200 and 599, not {value!r}")
    if key == "rate" and not 0 <= value <= 1:
        raise FaultError(f"rate must be between 0 and 1, not {value!r}")
    if value < 0:
        raise FaultError(f"{key} must not be negative, not {value!r}")
    return int(value) if key in _INT_KEYS else value


def _validate(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key, value in pairs:
        if key not in _KEYS:
            raise FaultError(f"unknown fault setting {key!r}; known: {', '.join(sorted(_KEYS))}")
        overrides[key] = _check(key, value)
    return overrides


def parse_json_overrides(body: bytes) -> dict[str, Any]:
    """Validate the JSON body of ``PUT /_faults/<service>``: any subset of the keys."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FaultError(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FaultError("body must be a JSON object")
    return _validate(data.items())


def _from_text(key: str, text: str) -> Any:
    if key == "fault":
        return None if text in ("", "null", "none") else text
    if key not in _NUMBER_KEYS | _INT_KEYS:
        return text
    try:
        return float(text)
    except ValueError:
        raise FaultError(f"{key} must be a number, not {text!r}") from None


def parse_query_overrides(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Validate the fault keys among a request's query parameters; others are left alone.

    Other parameters belong to the request itself (whatever chorus forwards), so
    only the known keys are read and checked.
    """
    return _validate((key, _from_text(key, text)) for key, text in pairs if key in _KEYS)
