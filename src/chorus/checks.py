"""System checks for the ``CHORUS`` setting: ids ``chorus.E001``… and ``chorus.W001``…"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from chorus.conf import problems

__all__ = ["check_settings"]


@register("chorus")
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for problem in problems(getattr(settings, "CHORUS", {})):
        kind = Error if problem.level == "error" else Warning
        messages.append(kind(problem.message, hint=problem.hint, id=problem.id))
    return messages
