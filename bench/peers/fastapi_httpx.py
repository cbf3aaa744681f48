"""FastAPI with one shared httpx.AsyncClient: the seeds' client, used well."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from bench.peers.common import upstream_urls

URLS = upstream_urls()
state: dict[str, httpx.AsyncClient] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state["client"] = httpx.AsyncClient(
        timeout=0.5, limits=httpx.Limits(max_connections=1024, max_keepalive_connections=1024)
    )
    try:
        yield
    finally:
        await state["client"].aclose()


app = FastAPI(lifespan=lifespan)


async def fetch(url: str) -> Any:
    response = await state["client"].get(url)
    return response.json()


@app.get("/dashboard")
async def dashboard() -> dict[str, Any]:
    results = await asyncio.gather(*(fetch(url) for url in URLS.values()))
    return dict(zip(URLS, results, strict=True))
