"""Storefront's ASGI application under a real uvicorn, on a free loopback port, in the test's loop.

In-process rather than a subprocess, so the server sees the test database;
real TCP and Django's real ``ASGIHandler``, so every request gets its own
thread-sensitive context and database connection, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storefront.asgi import application
from tests.fixtures.uvicorn_server import serving

__all__ = ["serving_storefront"]


@asynccontextmanager
async def serving_storefront() -> AsyncIterator[str]:
    """Serve storefront until the block ends; yields its base URL."""
    async with serving(application) as port:
        yield f"http://127.0.0.1:{port}"
