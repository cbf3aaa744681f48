"""Storefront's ``/api/`` routes, read from the URLconf, so that no test keeps a copy to drift.

``api_routes()`` yields each route pattern with its view; ``api_paths()`` gives
one concrete path per route, path converters filled with sample values
(``<int:pk>`` → ``1``, ``<str:service>`` → ``inventory``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from storefront.http.errors import is_api_path

__all__ = ["api_paths", "api_routes"]

_SAMPLES = {"int": "1", "str": "inventory", "slug": "inventory", "path": "inventory", "uuid": ""}
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def api_routes(patterns: Any = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(route, view)`` for every API route under ``api/`` (not its pages), as declared."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and is_api_path("/" + route):
            yield route, entry.callback


def api_paths() -> tuple[str, ...]:
    """One request path per ``/api/`` route, converters filled with sample values."""
    return tuple(
        "/" + _CONVERTER.sub(lambda match: _SAMPLES[match.group(1) or "str"], route)
        for route, _ in api_routes()
    )
