"""Middleware built on chorus's bases, recording which thread each of their steps ran on.

``SEEN`` holds ``(step, thread id)`` pairs; a test empties it first.
"""

from __future__ import annotations

import threading

from django.core.exceptions import SuspiciousOperation
from django.utils.deprecation import MiddlewareMixin

from chorus.server import DualModeMiddleware, NonBlockingMiddlewareMixin

SEEN: list[tuple[str, int]] = []


def seen(step: str) -> None:
    SEEN.append((step, threading.get_ident()))


class Dual(DualModeMiddleware):
    def call(self, request):
        seen("call")
        return self.get_response(request)

    async def acall(self, request):
        seen("acall")
        return await self.get_response(request)


class Hooks(MiddlewareMixin):
    def process_request(self, request):
        seen("process_request")

    def process_view(self, request, view, args, kwargs):
        seen("process_view")

    def process_response(self, request, response):
        seen("process_response")
        response["X-Hooks"] = "ran"
        return response


class NonBlockingHooks(NonBlockingMiddlewareMixin, Hooks):
    pass


class RaisesWhenAsked(NonBlockingMiddlewareMixin, MiddlewareMixin):
    """Raises in ``process_request`` what ``X-Raise`` names: ``suspicious`` or ``boom``."""

    def process_request(self, request):
        asked = request.headers.get("X-Raise")
        if asked == "suspicious":
            raise SuspiciousOperation("asked to")
        if asked == "boom":
            raise RuntimeError("asked to")
