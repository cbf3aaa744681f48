"""A Redis stream as the event log: one stream (``XADD ... MAXLEN ~ backlog``) read with blocking ``XREAD``.

Stream ids (``<ms>-<seq>``) are assigned by Redis in order, so every reader
sees the same sequence. A resuming viewer can be served when nothing after its
id has left the stream: when nothing was ever trimmed (``entries-added`` equals
``length``), or when its id is not older than the oldest entry still kept (the
trimmed entry just before it has an id Redis does not report, so a viewer at
exactly that edge is told to reset: a reload, never a silent loss).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import orjson
import redis
import redis.asyncio

from chorus.streams._encoding import dump_event_data
from chorus.streams._event_log import LiveEvent

__all__ = ["RedisStreamLog"]


class RedisStreamLog:
    """``RedisStreamLog(url, stream="shop:live", backlog=10_000)``: ``chorus.streams.EventLog`` on Redis."""

    def __init__(self, url: str, *, stream: str, backlog: int) -> None:
        self.url = url
        self.stream = stream
        self.backlog = backlog
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    def _sync_client(self) -> redis.Redis:
        # One pooled client per process; redis-py's pool is thread-safe.
        with self._lock:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, decode_responses=True)
            return self._client

    def publish(self, kind: str, data: Mapping[str, Any]) -> str:
        event_id = self._sync_client().xadd(
            self.stream,
            {"kind": kind, "data": dump_event_data(data)},
            maxlen=self.backlog,
            approximate=True,
        )
        return str(event_id)

    def sort_key(self, event_id: str) -> tuple[int, int]:
        milliseconds, _dash, sequence = event_id.partition("-")
        parts = (milliseconds, sequence or "0")
        if len(event_id) > 41 or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError(f"not an event id: {event_id!r}")
        return (int(parts[0]), int(parts[1]))

    def reader(self) -> RedisStreamReader:
        return RedisStreamReader(self)


class RedisStreamReader:
    def __init__(self, backend: RedisStreamLog) -> None:
        self._backend = backend
        # The blocking XREAD waits up to 5 s: reads time out only well past that, so a
        # busy event loop is not mistaken for a dead server.
        self._client = redis.asyncio.Redis.from_url(
            backend.url, decode_responses=True, socket_timeout=30, socket_connect_timeout=5
        )

    async def _info(self) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = await self._client.xinfo_stream(self._backend.stream)
        except redis.ResponseError:  # no such key: nothing published yet
            return None
        return info

    async def latest_id(self) -> str:
        info = await self._info()
        return "0-0" if info is None else str(info["last-generated-id"])

    async def read_after(self, after: str, *, limit: int, wait: float) -> list[LiveEvent]:
        block = int(wait * 1000) if wait > 0 else None
        # [[stream, [(id, {field: value}), ...]]] with decode_responses (redis-py types it loosely).
        answer: Any = await self._client.xread(
            {self._backend.stream: after}, count=limit, block=block
        )
        if not answer:
            return []
        _stream, entries = answer[0]
        return [
            LiveEvent(
                entry_id,
                fields["kind"],
                orjson.loads(fields["data"]),
                self._backend.sort_key(entry_id),
            )
            for entry_id, fields in entries
        ]

    async def can_resume(self, after: str) -> bool:
        key = self._backend.sort_key(after)
        info = await self._info()
        if info is None:
            return key == (0, 0)
        sort_key = self._backend.sort_key
        if key > sort_key(str(info["last-generated-id"])):
            return False
        if key < sort_key(str(info.get("max-deleted-entry-id") or "0-0")):  # XDEL'd after it
            return False
        if int(info["entries-added"]) == int(info["length"]):
            return True
        first = info.get("first-entry")
        return first is not None and key >= sort_key(str(first[0]))

    async def aclose(self) -> None:
        await self._client.aclose()
