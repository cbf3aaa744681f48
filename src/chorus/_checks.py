"""The system check of ``CHORUS``: ids ``chorus.E001``… and ``chorus.W001``.

Each part validates its own keys (the engine's ``problems``, the server side's
``server_problems``); only here, above both, is a key that no part knows
reported (``chorus.E001``). The middleware checks (W002, W003) are the server
side's own: ``chorus.server._middleware_checks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from chorus.engine._settings import ENGINE_KEYS, Problem, problems
from chorus.server._settings import SERVER_KEYS, server_problems

_KNOWN_KEYS = ENGINE_KEYS | SERVER_KEYS

__all__ = ["check_settings"]


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
