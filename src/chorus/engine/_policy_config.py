"""The resilience policies' settings: frozen dataclasses, and their parsing from ``CHORUS``.

Each upstream may carry ``BREAKER``, ``RETRY``, ``HEDGE`` and ``CACHE`` dicts;
a missing key means that policy is off. Each dict is read into the matching
dataclass by ``read_policy``, which returns the policy or the list of what is
wrong with it, so that ``chorus.engine._settings.problems`` reports every mistake and
``get_settings`` never builds a half-valid policy.

    "analytics": {
        "BASE_URL": "http://analytics.internal",
        "BREAKER": {"FAILURE_RATE": 0.5, "MINIMUM_CALLS": 10, "COOL_DOWN": 5.0},
        "RETRY": {"ATTEMPTS": 2},
        "HEDGE": {"DELAY": "p95"},
        "CACHE": {"TTL": 5.0, "STALE_IF_ERROR": 60.0},
    }
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

__all__ = [
    "RETRYABLE_OUTCOMES",
    "BreakerPolicy",
    "CachePolicy",
    "HedgePolicy",
    "RetryPolicy",
    "read_policy",
]

# Outcomes a retry may name besides HTTP statuses: "error" is a connect failure, a
# reset or a broken answer; "connect_timeout" is the transport's connect limit. A
# timeout of the call's own time is never retried: that time is spent.
RETRYABLE_OUTCOMES = frozenset({"error", "connect_timeout", "bad_body"})


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    """Open after too many failures; refuse calls while open; probe after a cool-down.

    Failures are timeouts, connect errors, resets, 5xx answers and bad bodies;
    4xx answers too only with ``count_client_errors``. The window is the last
    ``window`` calls, or the calls of the last ``window_seconds`` when that is set.
    """

    failure_rate: float = 0.5
    minimum_calls: int = 10
    window: int = 50
    window_seconds: float | None = None
    cool_down: float = 5.0
    half_open_calls: int = 1
    count_client_errors: bool = False
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Bounded retries of idempotent calls, with full-jitter backoff, under a budget.

    ``attempts`` counts the first request too. ``on`` names what may be retried:
    outcome names from ``RETRYABLE_OUTCOMES`` and HTTP statuses. The budget lets
    retries be at most ``budget`` of the calls of the last ``budget_window``
    seconds, plus ``budget_floor`` retries per second, so an outage is not multiplied.
    """

    attempts: int = 3
    on: frozenset[str | int] = frozenset({"error", 502, 503, 504})
    backoff: float = 0.025
    max_backoff: float = 1.0
    budget: float = 0.2
    budget_floor: float = 3.0
    budget_window: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgePolicy:
    """Send one more identical request when the first is slow; take the first success.

    ``delay`` is seconds, or ``"p95"`` for the upstream's observed 95th
    percentile latency, never less than ``min_delay`` (no hedge at all until
    enough answers have been seen to know the p95).
    """

    delay: float | Literal["p95"] = "p95"
    min_delay: float = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """Keep good answers for ``ttl`` seconds; share one request among identical callers.

    With ``stale_if_error``, a failed call (or a refused one: breaker open) is
    answered with the last good value for that many seconds past its ``ttl``,
    marked stale. A ``ttl`` of 0 never answers without a request: the last good
    value is kept only to stand in for a failure. ``backend`` is ``"memory"`` (per worker) or ``"redis"``
    (``CHORUS["REDIS_URL"]``, shared by every worker).
    """

    ttl: float
    stale_if_error: float | None = None
    backend: Literal["memory", "redis"] = "memory"
    max_entries: int = 1024


# -- reading the settings -----------------------------------------------------

Check = Callable[[Any], str | None]


def _positive_int(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return None
    return "must be a positive integer"


def _seconds(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return None
    return "must be a positive number of seconds"


def _optional_seconds(value: Any) -> str | None:
    return None if value is None else _seconds(value)


def _share(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return None
    return "must be a number from 0 to 1"


def _non_negative(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return None
    return "must be a number of 0 or more"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def _retry_on(value: Any) -> str | None:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        return "must be a list of outcome names and HTTP statuses"
    for item in value:
        if isinstance(item, bool):
            return f"has {item!r}, which is neither an outcome name nor a status"
        if isinstance(item, int):
            if not 400 <= item <= 599:
                return f"has status {item}: only 4xx and 5xx answers can be retried"
        elif item not in RETRYABLE_OUTCOMES:
            return (
                f"has {item!r}: known outcomes are {', '.join(sorted(RETRYABLE_OUTCOMES))} "
                "(a timeout of the call's own time is never retried)"
            )
    return None


def _hedge_delay(value: Any) -> str | None:
    if value == "p95" or _seconds(value) is None:
        return None
    return 'must be a positive number of seconds or "p95"'


def _cache_backend(value: Any) -> str | None:
    return None if value in ("memory", "redis") else 'must be "memory" or "redis"'


_KEYS: dict[type[Any], dict[str, Check]] = {
    BreakerPolicy: {
        "FAILURE_RATE": _share,
        "MINIMUM_CALLS": _positive_int,
        "WINDOW": _positive_int,
        "WINDOW_SECONDS": _optional_seconds,
        "COOL_DOWN": _seconds,
        "HALF_OPEN_CALLS": _positive_int,
        "COUNT_CLIENT_ERRORS": _flag,
        "SHARED": _flag,
    },
    RetryPolicy: {
        "ATTEMPTS": _positive_int,
        "ON": _retry_on,
        "BACKOFF": _non_negative,
        "MAX_BACKOFF": _non_negative,
        "BUDGET": _share,
        "BUDGET_FLOOR": _non_negative,
        "BUDGET_WINDOW": _seconds,
    },
    HedgePolicy: {"DELAY": _hedge_delay, "MIN_DELAY": _seconds},
    CachePolicy: {
        "TTL": _non_negative,
        "STALE_IF_ERROR": _optional_seconds,
        "BACKEND": _cache_backend,
        "MAX_ENTRIES": _positive_int,
    },
}
_REQUIRED: dict[type[Any], frozenset[str]] = {CachePolicy: frozenset({"TTL"})}


def read_policy[P](kind: type[P], raw: object) -> tuple[P | None, list[str]]:
    """``raw`` (a settings dict, or ``None`` for off) as a ``kind``, or what is wrong with it."""
    if raw is None:
        return None, []
    if not isinstance(raw, Mapping):
        return None, [f"must be a dict; got {type(raw).__name__}"]
    keys = _KEYS[kind]
    wrong = [f"has unknown keys: {', '.join(sorted(map(str, set(raw) - set(keys))))}"]
    if not set(raw) - set(keys):
        wrong.clear()
    missing = _REQUIRED.get(kind, frozenset()) - set(raw)
    wrong.extend(f"needs {key}" for key in sorted(missing))
    for key, check in keys.items():
        if key in raw and (reason := check(raw[key])) is not None:
            wrong.append(f"{key} {reason}; got {raw[key]!r}")
    if wrong:
        return None, wrong
    values = {key.lower(): value for key, value in raw.items()}
    if "on" in values:
        values["on"] = frozenset(values["on"])
    known = {f.name for f in fields(kind)}  # type: ignore[arg-type]
    policy = kind(**{name: value for name, value in values.items() if name in known})
    return policy, _consistency(policy)


def _consistency(policy: object) -> list[str]:
    if isinstance(policy, RetryPolicy) and policy.max_backoff < policy.backoff:
        return ["MAX_BACKOFF must not be less than BACKOFF"]
    if (
        isinstance(policy, BreakerPolicy)
        and policy.window_seconds is None
        and policy.minimum_calls > policy.window
    ):
        return ["MINIMUM_CALLS must not exceed WINDOW (the window could never judge)"]
    return []
