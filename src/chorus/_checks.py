"""System checks for every part of chorus: ids ``chorus.E001``… and ``chorus.W001``…

Each part validates its own keys of ``CHORUS`` (the engine's ``problems``, the
server side's ``server_problems``); only here, above both, is a key that no
part knows reported (``chorus.E001``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from chorus.engine._settings import ENGINE_KEYS, Problem, problems
from chorus.server._middleware_bases import NonBlockingMiddlewareMixin
from chorus.server._settings import SERVER_KEYS, server_problems

_KNOWN_KEYS = ENGINE_KEYS | SERVER_KEYS

__all__ = ["check_middleware", "check_settings"]


@register("chorus")
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    raw = getattr(settings, "CHORUS", {})
    messages: list[CheckMessage] = []
    for problem in [*_unknown_keys(raw), *problems(raw), *server_problems(raw)]:
        kind = Error if problem.level == "error" else Warning
        messages.append(kind(problem.message, hint=problem.hint, id=problem.id))
    return messages


def _unknown_keys(raw: object) -> list[Problem]:
    if not isinstance(raw, dict):
        return []  # the engine reports it
    unknown = sorted(set(raw) - _KNOWN_KEYS, key=str)
    if not unknown:
        return []
    return [
        Problem(
            "error",
            "chorus.E001",
            f"CHORUS has unknown keys: {', '.join(map(str, unknown))}",
            f"Known keys: {', '.join(sorted(_KNOWN_KEYS))}.",
        )
    ]


@register("chorus")
def check_middleware(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """W002: sync-only middleware; W003: ``MiddlewareMixin`` hooks that hop to a thread."""
    messages: list[CheckMessage] = []
    for path in getattr(settings, "MIDDLEWARE", []):
        try:
            middleware = import_string(path)
        except ImportError:
            continue  # Django's own checks report this
        if not getattr(middleware, "async_capable", False):
            messages.append(
                Warning(
                    f"{path} is sync-only: every request to an async view takes a thread hop "
                    "through it, and Django adapts the handlers around it.",
                    hint="Make it async-capable (sync_capable = async_capable = True, "
                    "markcoroutinefunction) or move it off the routes that serve async views.",
                    id="chorus.W002",
                )
            )
        elif _hops_per_hook(middleware):
            messages.append(
                Warning(
                    f"{path} runs its hooks through sync_to_async under ASGI: a thread hop "
                    "per hook per request.",
                    hint="If its hooks never block, add chorus.server.NonBlockingMiddlewareMixin "
                    "first in its bases.",
                    id="chorus.W003",
                )
            )
    return messages


def _hops_per_hook(middleware: type) -> bool:
    hooks = ("process_request", "process_response", "process_view")
    return (
        issubclass(middleware, MiddlewareMixin)
        and not issubclass(middleware, NonBlockingMiddlewareMixin)
        and any(hasattr(middleware, hook) for hook in hooks)
    )
