"""Read back what a backend holds, from sync tests."""

from __future__ import annotations

import asyncio

from chorus.streams import EventLog, LiveEvent


def latest_id(backend: EventLog) -> str:
    async def read() -> str:
        reader = backend.reader()
        try:
            return await reader.latest_id()
        finally:
            await reader.aclose()

    return asyncio.run(read())


def published_after(backend: EventLog, after: str) -> list[LiveEvent]:
    async def read() -> list[LiveEvent]:
        reader = backend.reader()
        try:
            return await reader.read_after(after, limit=1000, wait=0)
        finally:
            await reader.aclose()

    return asyncio.run(read())
