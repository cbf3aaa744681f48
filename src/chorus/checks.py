"""System checks for the ``CHORUS`` setting: ids ``chorus.E001``… and ``chorus.W001``…"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from chorus.conf import problems
from chorus.middleware import NonBlockingMiddlewareMixin

__all__ = ["check_middleware", "check_settings"]


@register("chorus")
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for problem in problems(getattr(settings, "CHORUS", {})):
        kind = Error if problem.level == "error" else Warning
        messages.append(kind(problem.message, hint=problem.hint, id=problem.id))
    return messages


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
                    hint="If its hooks never block, add chorus.NonBlockingMiddlewareMixin "
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
