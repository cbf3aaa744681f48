"""Storefront's ASGI application under a real uvicorn, on a free loopback port, in the test's loop.

In-process rather than a subprocess, so the server sees the test database;
real TCP and Django's real ``ASGIHandler``, so every request gets its own
thread-sensitive context and database connection, as in production.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from storefront.asgi import application

__all__ = ["serving_storefront"]


@asynccontextmanager
async def serving_storefront() -> AsyncIterator[str]:
    """Serve storefront until the block ends; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, log_config=None, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if serving.done():
                serving.result()  # start-up failed: raise its error here
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        listener.close()
