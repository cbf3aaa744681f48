"""A minimal SSE reader over an httpx stream, for tests: frames as (id, event, data, comments)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class Frame:
    id: str | None = None
    event: str | None = None
    data_lines: list[str] = field(default_factory=list)
    comment: str | None = None

    def json(self) -> Any:
        return orjson.loads("\n".join(self.data_lines))


async def frames(response: httpx.Response) -> AsyncIterator[Frame]:
    frame = Frame()
    async for line in response.aiter_lines():
        if line == "":
            if frame.data_lines or frame.comment is not None or frame.event:
                yield frame
            frame = Frame()
        elif line.startswith(":"):
            yield Frame(comment=line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                frame.id = value
            elif name == "event":
                frame.event = value
            elif name == "data":
                frame.data_lines.append(value)


async def take_events(stream: AsyncIterator[Frame], count: int, within: float = 5.0) -> list[Frame]:
    """The next ``count`` frames that are events (comments skipped)."""
    taken: list[Frame] = []
    async with asyncio.timeout(within):
        while len(taken) < count:
            frame = await anext(stream)
            if frame.comment is None:
                taken.append(frame)
    return taken
