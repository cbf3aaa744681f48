"""System checks of ``MIDDLEWARE``: what costs an async view a thread hop per request.

``chorus.W002``: a sync-only middleware (Django adapts every handler around it);
``chorus.W003``: a ``MiddlewareMixin`` whose hooks run through ``sync_to_async``
under ASGI, with the chorus class to list instead where there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Warning, register
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from chorus.server._middleware_bases import NonBlockingMiddlewareMixin

__all__ = ["CHORUS_EQUIVALENTS", "HOOKS_CAN_BLOCK", "check_middleware"]


# Django's stock middleware whose hooks never block, and chorus's class for each: the same
# class with its hooks on the event loop (chorus.server._stock_middleware).
CHORUS_EQUIVALENTS = {
    "django.middleware.security.SecurityMiddleware": "chorus.server.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware": "chorus.server.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware": (
        "chorus.server.AuthenticationMiddleware"
    ),
    "django.middleware.clickjacking.XFrameOptionsMiddleware": "chorus.server.XFrameOptionsMiddleware",
}

# Django's middleware whose hooks can block: their thread hop is what keeps the loop free,
# so chorus does not warn about them (nor about their subclasses, which inherit the hooks).
HOOKS_CAN_BLOCK = {
    "django.contrib.sessions.middleware.SessionMiddleware": "saving the session writes the store",
    "django.middleware.csrf.CsrfViewMiddleware": (
        "it may read the session (CSRF_USE_SESSIONS) or parse a multipart POST body"
    ),
    "django.contrib.messages.middleware.MessageMiddleware": "storing messages may load the session",
    "django.contrib.auth.middleware.LoginRequiredMiddleware": "it loads the user",
}


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
                    hint=_w003_hint(path, middleware),
                    id="chorus.W003",
                )
            )
    return messages


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _w003_hint(path: str, middleware: type) -> str:
    """The chorus class to list instead, when there is one; otherwise what to do."""
    equivalent = CHORUS_EQUIVALENTS.get(_dotted(middleware))
    if equivalent is not None:
        return (
            f"Put {equivalent} in MIDDLEWARE in place of {path}: Django's class, "
            "its hooks on the event loop (they never block)."
        )
    for base in middleware.__mro__[1:]:
        equivalent = CHORUS_EQUIVALENTS.get(_dotted(base))
        if equivalent is not None:
            return (
                f"If the hooks {middleware.__name__} adds never block, base it on "
                f"{equivalent} instead of {_dotted(base)}."
            )
    return (
        "If its hooks never block, list a subclass with "
        "chorus.server.NonBlockingMiddlewareMixin first in its bases instead. If a hook "
        "can block (database, cache, file or network I/O), keep the hop, or override that "
        "hook's async twin (aprocess_request, aprocess_view, aprocess_response) to hop "
        "only when it must."
    )


def _hops_per_hook(middleware: type) -> bool:
    hooks = ("process_request", "process_response", "process_view")
    return (
        issubclass(middleware, MiddlewareMixin)
        and not issubclass(middleware, NonBlockingMiddlewareMixin)
        and not any(_dotted(base) in HOOKS_CAN_BLOCK for base in middleware.__mro__)
        and any(hasattr(middleware, hook) for hook in hooks)
    )
