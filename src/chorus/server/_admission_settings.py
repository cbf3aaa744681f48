"""The door's settings, ``CHORUS["ADMISSION"]``: parsed and checked (the door: ``_admission.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Admission", "admission_problems", "read_admission"]

_KEYS = frozenset({"MAX_IN_FLIGHT", "MIN_IN_FLIGHT", "TARGET_LAG", "EXEMPT"})
DEFAULT_TARGET_LAG = 0.01


@dataclass(frozen=True, slots=True)
class Admission:
    """The door's settings: at most ``max_in_flight`` requests at once (``None``: no door).

    With ``min_in_flight`` below it, the limit moves between the two to hold the
    loop's lag near ``target_lag`` seconds; equal (the default), it stays put.
    """

    max_in_flight: int | None = None
    min_in_flight: int | None = None
    target_lag: float = DEFAULT_TARGET_LAG
    exempt: tuple[str, ...] = ()

    def applies_to(self, path: str) -> bool:
        return self.max_in_flight is not None and not path.startswith(self.exempt)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def admission_problems(raw: object) -> list[str]:
    if not isinstance(raw, Mapping):
        return [f"must be a dict; got {type(raw).__name__}"]
    found = []
    unknown = sorted(map(str, set(raw) - _KEYS))
    if unknown:
        found.append(f"unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    ceiling, floor = raw.get("MAX_IN_FLIGHT"), raw.get("MIN_IN_FLIGHT")
    if ceiling is not None and not _positive_int(ceiling):
        found.append(f"MAX_IN_FLIGHT must be a positive integer or None; got {ceiling!r}")
    if floor is not None and not _positive_int(floor):
        found.append(f"MIN_IN_FLIGHT must be a positive integer or None; got {floor!r}")
    elif floor is not None and _positive_int(ceiling) and floor > ceiling:
        found.append(f"MIN_IN_FLIGHT ({floor}) must not be over MAX_IN_FLIGHT ({ceiling})")
    lag = raw.get("TARGET_LAG", DEFAULT_TARGET_LAG)
    if not (isinstance(lag, int | float) and not isinstance(lag, bool) and lag > 0):
        found.append(f"TARGET_LAG must be a positive number of seconds; got {lag!r}")
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
        target_lag=raw.get("TARGET_LAG", DEFAULT_TARGET_LAG),
        exempt=tuple(raw.get("EXEMPT", ())),
    )
