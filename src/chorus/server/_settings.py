"""The server side's part of the ``CHORUS`` setting: the door, request limits, BEFORE_BODY.

    CHORUS = {
        "ADMISSION": {"MAX_IN_FLIGHT": 512},  # requests handled at once (the door)
        "REQUEST_LIMITS": {"DEFAULT": {"MAX_BODY_BYTES": 1_048_576}},
        "BEFORE_BODY": "myproject.access.refuse_early",  # an async function's dotted path
    }

Read once and cached like the engine's settings, and cleared on Django's
``setting_changed`` signal so ``override_settings(CHORUS=...)`` works in tests.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from chorus.engine._exceptions import ConfigurationError
from chorus.engine._settings import Problem
from chorus.server._admission_settings import Admission, admission_problems, read_admission
from chorus.server._limits import RequestLimits, limits_problems, read_limits

__all__ = ["SERVER_KEYS", "BeforeBody", "ServerSettings", "get_server_settings", "server_problems"]

# An async function given the request before its body is read: a response refuses it.
BeforeBody = Callable[[HttpRequest], Awaitable[HttpResponseBase | None]]

SERVER_KEYS = frozenset({"ADMISSION", "REQUEST_LIMITS", "BEFORE_BODY"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    request_limits: RequestLimits = field(default_factory=RequestLimits)
    # Decides on a request's headers before its body is read (the ASGI handler).
    before_body: BeforeBody | None = None
    # How many requests a worker handles at once; the rest wait at the door.
    admission: Admission = field(default_factory=Admission)


def server_problems(raw: object) -> list[Problem]:
    """Everything wrong with the server side's keys of a raw ``CHORUS`` setting."""
    if not isinstance(raw, Mapping):
        return []  # the engine reports a CHORUS that is not a dict (chorus.E001)
    found: list[Problem] = []
    before_body = raw.get("BEFORE_BODY")
    if before_body is not None:
        try:
            if not callable(import_string(before_body)):
                raise TypeError
        except (ImportError, TypeError):
            found.append(
                Problem(
                    "error",
                    "chorus.E014",
                    f"CHORUS['BEFORE_BODY'] must be the dotted path of an async function; "
                    f"got {before_body!r}",
                )
            )
    for message in limits_problems(raw.get("REQUEST_LIMITS", {})):
        found.append(Problem("error", "chorus.E013", f"CHORUS['REQUEST_LIMITS']: {message}"))
    for message in admission_problems(raw.get("ADMISSION", {})):
        found.append(Problem("error", "chorus.E016", f"CHORUS['ADMISSION']: {message}"))
    return found


@functools.cache
def get_server_settings() -> ServerSettings:
    """The server side's validated settings; raises ``ConfigurationError`` on errors."""
    raw = getattr(settings, "CHORUS", {})
    errors = [p for p in server_problems(raw) if p.level == "error"]
    if errors:
        raise ConfigurationError("; ".join(f"{p.id}: {p.message}" for p in errors))
    return ServerSettings(
        request_limits=read_limits(raw.get("REQUEST_LIMITS")),
        before_body=import_string(raw["BEFORE_BODY"]) if raw.get("BEFORE_BODY") else None,
        admission=read_admission(raw.get("ADMISSION")),
    )


@receiver(setting_changed)
def _clear_on_change(*, setting: str, **kwargs: object) -> None:
    if setting == "CHORUS":
        get_server_settings.cache_clear()
