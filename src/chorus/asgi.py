"""Chorus's ASGI application: Django's handler plus the ASGI lifespan protocol.

Django's ``ASGIHandler`` refuses lifespan events, so a server never tells it
that it is shutting down, and per-loop resources (chorus's pooled HTTP
session) would be left for the garbage collector, with aiohttp's "Unclosed
client session" warning. This handler answers lifespan: at shutdown it closes
the loop's transport.

    # asgi.py
    from chorus.asgi import get_asgi_application
    application = get_asgi_application()
"""

from __future__ import annotations

import logging
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

from chorus.transport import aclose_transport

__all__ = ["ChorusASGIHandler", "get_asgi_application"]

logger = logging.getLogger("chorus")


class ChorusASGIHandler(ASGIHandler):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if await aclose_transport():
                        logger.info("closed the upstream connection pool")
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return


def get_asgi_application() -> ChorusASGIHandler:
    """Set Django up and return chorus's ASGI handler (use in place of Django's)."""
    django.setup(set_prefix=False)
    return ChorusASGIHandler()
