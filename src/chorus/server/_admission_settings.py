"""The door's settings, ``CHORUS["ADMISSION"]``: parsed and checked (the door: ``_admission.py``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Admission", "admission_problems", "read_admission"]

_KEYS = frozenset(
    {
        "MAX_IN_FLIGHT",
        "MIN_IN_FLIGHT",
        "LOOP_TARGET",
        "QUEUE_TARGET",
        "MAX_WAIT",
        "INTERVAL",
        "EXEMPT",
    }
)
# Keys of the loop-lag step controller this one replaced, named in the check's message.
_REPLACED = {"TARGET_LAG": "LOOP_TARGET (the loop's standing lag, not each turn's)"}

DEFAULT_LOOP_TARGET = 0.005
DEFAULT_QUEUE_TARGET = 0.5
DEFAULT_MAX_WAIT = 5.0
DEFAULT_INTERVAL = 0.1
# (key, default, lowest allowed (excluded), highest allowed (included)), in seconds.
_DURATIONS = (
    ("LOOP_TARGET", DEFAULT_LOOP_TARGET, 0.0, 1.0),
    ("QUEUE_TARGET", DEFAULT_QUEUE_TARGET, 0.0, 60.0),
    ("MAX_WAIT", DEFAULT_MAX_WAIT, 0.0, 600.0),
    ("INTERVAL", DEFAULT_INTERVAL, 0.001, 10.0),
)


@dataclass(frozen=True, slots=True)
class Admission:
    """The door's settings: at most ``max_in_flight`` requests at once (``None``: no door).

    With ``min_in_flight`` below it, the limit moves between the two: down while the
    loop's lag stays over ``loop_target`` for two ``interval``s in a row, up while the loop
    keeps up and the limit is used. Equal (the default), it stays put. Either way,
    while the door's queue stands (its shortest wait over an interval is over
    ``queue_target``), a request that has waited ``max_wait`` is answered 503.
    """

    max_in_flight: int | None = None
    min_in_flight: int | None = None
    loop_target: float = DEFAULT_LOOP_TARGET
    queue_target: float = DEFAULT_QUEUE_TARGET
    max_wait: float = DEFAULT_MAX_WAIT
    interval: float = DEFAULT_INTERVAL
    exempt: tuple[str, ...] = ()

    def applies_to(self, path: str) -> bool:
        return self.max_in_flight is not None and not path.startswith(self.exempt)

    @property
    def adaptive(self) -> bool:
        return self.min_in_flight is not None and self.min_in_flight != self.max_in_flight


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def admission_problems(raw: object) -> list[str]:
    if not isinstance(raw, Mapping):
        return [f"must be a dict; got {type(raw).__name__}"]
    found = []
    unknown = sorted(map(str, set(raw) - _KEYS - set(_REPLACED)))
    if unknown:
        found.append(f"unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    found += [
        f"{key} was replaced by {instead}" for key, instead in _REPLACED.items() if key in raw
    ]
    ceiling, floor = raw.get("MAX_IN_FLIGHT"), raw.get("MIN_IN_FLIGHT")
    if ceiling is not None and not _positive_int(ceiling):
        found.append(f"MAX_IN_FLIGHT must be a positive integer or None; got {ceiling!r}")
    if floor is not None and not _positive_int(floor):
        found.append(f"MIN_IN_FLIGHT must be a positive integer or None; got {floor!r}")
    elif floor is not None and _positive_int(ceiling) and floor > ceiling:
        found.append(f"MIN_IN_FLIGHT ({floor}) must not be over MAX_IN_FLIGHT ({ceiling})")
    for key, default, lowest, highest in _DURATIONS:
        value = raw.get(key, default)
        if not (_number(value) and lowest < value <= highest):
            found.append(
                f"{key} must be a number of seconds over {lowest:g} and at most {highest:g};"
                f" got {value!r}"
            )
    queue_target = raw.get("QUEUE_TARGET", DEFAULT_QUEUE_TARGET)
    max_wait = raw.get("MAX_WAIT", DEFAULT_MAX_WAIT)
    if _number(queue_target) and _number(max_wait) and max_wait < queue_target:
        found.append(f"MAX_WAIT ({max_wait!r}) must not be under QUEUE_TARGET ({queue_target!r})")
    exempt = raw.get("EXEMPT", ())
    if isinstance(exempt, str) or not isinstance(exempt, list | tuple):
        found.append("EXEMPT must be a list of path prefixes")
    elif bad := [p for p in exempt if not (isinstance(p, str) and p.startswith("/"))]:
        found.append(f"EXEMPT path prefixes must start with '/'; got {bad!r}")
    return found


def read_admission(raw: Mapping[str, Any] | None) -> Admission:
    """Settings already checked by ``admission_problems``."""
    if not raw:
        return Admission()
    ceiling = raw.get("MAX_IN_FLIGHT")
    return Admission(
        max_in_flight=ceiling,
        min_in_flight=raw.get("MIN_IN_FLIGHT") or ceiling,
        loop_target=float(raw.get("LOOP_TARGET", DEFAULT_LOOP_TARGET)),
        queue_target=float(raw.get("QUEUE_TARGET", DEFAULT_QUEUE_TARGET)),
        max_wait=float(raw.get("MAX_WAIT", DEFAULT_MAX_WAIT)),
        interval=float(raw.get("INTERVAL", DEFAULT_INTERVAL)),
        exempt=tuple(raw.get("EXEMPT", ())),
    )
