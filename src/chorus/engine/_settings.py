"""The engine's part of the ``CHORUS`` setting, read once into frozen dataclasses.

``get_settings()`` is cached and the cache is cleared on Django's
``setting_changed`` signal, so ``override_settings(CHORUS=...)`` works in tests
and nothing is copied into module constants at import time. ``problems()`` is
the one validator: system checks report its findings, and ``get_settings()``
refuses a configuration with errors.

    CHORUS = {
        "UPSTREAMS": {
            "inventory": {"BASE_URL": "http://127.0.0.1:8100/inventory", "TIMEOUT": 0.3},
            "analytics": {
                "BASE_URL": "http://127.0.0.1:8100/analytics",
                "BREAKER": {"FAILURE_RATE": 0.5},
                "CACHE": {"TTL": 5.0, "STALE_IF_ERROR": 60.0},
            },
        },
        "DEFAULT_DEADLINE": 2.0,
        "REDIS_URL": None,  # shared breakers and caches, when set
        "METRICS": True,  # Prometheus metrics (chorus.engine._metrics); False: not recorded at all
        "ADMISSION": {"MAX_IN_FLIGHT": None},  # requests handled at once (chorus.server._admission)
    }
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from chorus.engine._exceptions import ConfigurationError, UnknownUpstreamError
from chorus.engine._policy_config import (
    BreakerPolicy,
    CachePolicy,
    HedgePolicy,
    RetryPolicy,
    read_policy,
)

__all__ = ["ENGINE_KEYS", "ChorusSettings", "Problem", "UpstreamConfig", "get_settings", "problems"]

DEFAULT_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 1.0
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_DEADLINE = 10.0

# Each policy's settings key, its dataclass and the check id for its mistakes.
_POLICY_KEYS: tuple[tuple[str, type[Any], str], ...] = (
    ("BREAKER", BreakerPolicy, "chorus.E008"),
    ("RETRY", RetryPolicy, "chorus.E009"),
    ("HEDGE", HedgePolicy, "chorus.E010"),
    ("CACHE", CachePolicy, "chorus.E011"),
)

# The engine's keys of ``CHORUS``; the other parts name theirs.
ENGINE_KEYS = frozenset({"UPSTREAMS", "DEFAULT_DEADLINE", "REDIS_URL", "METRICS"})
_UPSTREAM_KEYS = frozenset(
    {
        "BASE_URL",
        "TIMEOUT",
        "CONNECT_TIMEOUT",
        "MAX_CONNECTIONS",
        "MAX_BODY_BYTES",
        "FORWARD_HEADERS",
        *(key for key, _, _ in _POLICY_KEYS),
    }
)
_UPSTREAM_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
# Headers that describe this hop's connection or body: forwarding them would corrupt the call.
_UNFORWARDABLE = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamConfig:
    """One named upstream service. Timeouts are seconds; ``None`` means no limit."""

    name: str
    base_url: str
    timeout: float | None = DEFAULT_TIMEOUT
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    forward_headers: tuple[str, ...] = ()
    breaker: BreakerPolicy | None = None
    retry: RetryPolicy | None = None
    hedge: HedgePolicy | None = None
    cache: CachePolicy | None = None

    @property
    def needs_redis(self) -> bool:
        shared_breaker = self.breaker is not None and self.breaker.shared
        return shared_breaker or (self.cache is not None and self.cache.backend == "redis")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChorusSettings:
    upstreams: Mapping[str, UpstreamConfig] = field(default_factory=lambda: MappingProxyType({}))
    default_deadline: float | None = DEFAULT_DEADLINE
    redis_url: str | None = None
    metrics: bool = True

    def upstream(self, name: str) -> UpstreamConfig:
        try:
            return self.upstreams[name]
        except KeyError:
            raise UnknownUpstreamError(name, tuple(self.upstreams)) from None


@dataclass(frozen=True, slots=True)
class Problem:
    level: Literal["error", "warning"]
    id: str
    message: str
    hint: str | None = None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration_problem(where: str, key: str, value: object) -> Problem | None:
    if value is None or (_is_number(value) and value > 0):  # type: ignore[operator]
        return None
    return Problem(
        "error",
        "chorus.E004",
        f"{where} {key} must be a positive number of seconds or None; got {value!r}",
        "None means no limit; spell it out rather than using 0.",
    )


def _base_url_problem(name: str, value: object) -> Problem | None:
    where = f"CHORUS['UPSTREAMS'][{name!r}]['BASE_URL']"
    if not isinstance(value, str):
        return Problem("error", "chorus.E003", f"{where} must be a string URL; got {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Problem("error", "chorus.E003", f"{where} must be an http(s) URL with a host")
    if parts.username or parts.password:
        return Problem(
            "error",
            "chorus.E003",
            f"{where} must not carry credentials",
            "Send credentials as a header; URLs end up in logs.",
        )
    if parts.query or parts.fragment:
        return Problem("error", "chorus.E003", f"{where} must not have a query or fragment")
    return None


def _upstream_problems(name: object, raw: object, deadline: object) -> list[Problem]:
    if not isinstance(name, str) or not _UPSTREAM_NAME.match(name):
        return [
            Problem(
                "error",
                "chorus.E007",
                f"upstream name {name!r} must be lower-case letters, digits, '-' or '_'",
                "The name appears in Server-Timing headers and metrics.",
            )
        ]
    where = f"CHORUS['UPSTREAMS'][{name!r}]"
    if not isinstance(raw, Mapping):
        return [
            Problem("error", "chorus.E002", f"{where} must be a dict; got {type(raw).__name__}")
        ]
    found: list[Problem] = []
    unknown = sorted(set(raw) - _UPSTREAM_KEYS)
    if unknown:
        found.append(
            Problem(
                "error",
                "chorus.E002",
                f"{where} has unknown keys: {', '.join(map(str, unknown))}",
                f"Known keys: {', '.join(sorted(_UPSTREAM_KEYS))}.",
            )
        )
    if (problem := _base_url_problem(name, raw.get("BASE_URL"))) is not None:
        found.append(problem)
    for key in ("TIMEOUT", "CONNECT_TIMEOUT"):
        if key in raw and (problem := _duration_problem(where, key, raw[key])) is not None:
            found.append(problem)
    for key in ("MAX_CONNECTIONS", "MAX_BODY_BYTES"):
        value = raw.get(key, 1)
        if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            found.append(
                Problem("error", "chorus.E005", f"{where} {key} must be a positive integer")
            )
    headers = raw.get("FORWARD_HEADERS", ())
    if isinstance(headers, str) or not isinstance(headers, list | tuple):
        found.append(
            Problem("error", "chorus.E006", f"{where} FORWARD_HEADERS must be a list of names")
        )
    else:
        for header in headers:
            if not isinstance(header, str) or not _HEADER_NAME.match(header):
                found.append(
                    Problem("error", "chorus.E006", f"{where} FORWARD_HEADERS: bad name {header!r}")
                )
            elif header.lower() in _UNFORWARDABLE:
                found.append(
                    Problem(
                        "error",
                        "chorus.E006",
                        f"{where} FORWARD_HEADERS: {header!r} belongs to one hop only",
                    )
                )
    for key, kind, check_id in _POLICY_KEYS:
        _, wrong = read_policy(kind, raw.get(key))
        found.extend(Problem("error", check_id, f"{where}['{key}'] {reason}") for reason in wrong)
    timeout = raw.get("TIMEOUT", DEFAULT_TIMEOUT)
    if _is_number(timeout) and _is_number(deadline) and timeout > deadline:
        found.append(
            Problem(
                "warning",
                "chorus.W001",
                f"{where} TIMEOUT ({timeout}s) is longer than DEFAULT_DEADLINE ({deadline}s)",
                "The deadline will always cut the call first; lower the TIMEOUT.",
            )
        )
    return found


def problems(raw: object) -> list[Problem]:
    """Everything wrong with the engine's keys of a raw ``CHORUS`` setting."""
    if not isinstance(raw, Mapping):
        return [Problem("error", "chorus.E001", f"CHORUS must be a dict; got {type(raw).__name__}")]
    found: list[Problem] = []
    deadline = raw.get("DEFAULT_DEADLINE", DEFAULT_DEADLINE)
    if (problem := _duration_problem("CHORUS", "DEFAULT_DEADLINE", deadline)) is not None:
        found.append(problem)
    upstreams = raw.get("UPSTREAMS", {})
    if not isinstance(upstreams, Mapping):
        found.append(Problem("error", "chorus.E001", "CHORUS['UPSTREAMS'] must be a dict"))
        return found
    redis_url = raw.get("REDIS_URL")
    if redis_url is not None and (
        not isinstance(redis_url, str) or urlsplit(redis_url).scheme not in _REDIS_SCHEMES
    ):
        found.append(
            Problem("error", "chorus.E012", "CHORUS['REDIS_URL'] must be a redis:// URL or None")
        )
    if not isinstance(raw.get("METRICS", True), bool):
        found.append(Problem("error", "chorus.E015", "CHORUS['METRICS'] must be True or False"))
    for name, entry in upstreams.items():
        found.extend(_upstream_problems(name, entry, deadline))
        if redis_url is None and isinstance(entry, Mapping) and _wants_redis(entry):
            found.append(
                Problem(
                    "error",
                    "chorus.E012",
                    f"CHORUS['UPSTREAMS'][{name!r}] shares state through Redis "
                    "(a SHARED breaker or a redis CACHE) but CHORUS['REDIS_URL'] is not set",
                    "Set CHORUS['REDIS_URL'], or keep the state in each worker's memory.",
                )
            )
    return found


_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})


def _wants_redis(entry: Mapping[str, Any]) -> bool:
    breaker, cache = entry.get("BREAKER"), entry.get("CACHE")
    return (isinstance(breaker, Mapping) and breaker.get("SHARED") is True) or (
        isinstance(cache, Mapping) and cache.get("BACKEND") == "redis"
    )


def _build(raw: Mapping[str, Any]) -> ChorusSettings:
    upstreams = {
        name: UpstreamConfig(
            name=name,
            base_url=entry["BASE_URL"].rstrip("/"),
            timeout=entry.get("TIMEOUT", DEFAULT_TIMEOUT),
            connect_timeout=entry.get("CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
            max_connections=entry.get("MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS),
            max_body_bytes=entry.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            forward_headers=tuple(h.lower() for h in entry.get("FORWARD_HEADERS", ())),
            breaker=read_policy(BreakerPolicy, entry.get("BREAKER"))[0],
            retry=read_policy(RetryPolicy, entry.get("RETRY"))[0],
            hedge=read_policy(HedgePolicy, entry.get("HEDGE"))[0],
            cache=read_policy(CachePolicy, entry.get("CACHE"))[0],
        )
        for name, entry in raw.get("UPSTREAMS", {}).items()
    }
    return ChorusSettings(
        upstreams=MappingProxyType(upstreams),
        default_deadline=raw.get("DEFAULT_DEADLINE", DEFAULT_DEADLINE),
        redis_url=raw.get("REDIS_URL"),
        metrics=raw.get("METRICS", True),
    )


@functools.cache
def get_settings() -> ChorusSettings:
    """The engine's validated settings; raises ``ConfigurationError`` if they have errors."""
    raw = getattr(settings, "CHORUS", {})
    errors = [p for p in problems(raw) if p.level == "error"]
    if errors:
        raise ConfigurationError("; ".join(f"{p.id}: {p.message}" for p in errors))
    return _build(raw)


@receiver(setting_changed)
def _clear_on_change(*, setting: str, **kwargs: object) -> None:
    if setting == "CHORUS":
        get_settings.cache_clear()
