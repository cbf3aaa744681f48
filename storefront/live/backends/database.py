"""The embedded backend: an event table in the project's database, read by one poller per worker.

Ids come from the table's primary key. On PostgreSQL two writers could commit
out of id order (5 after 6), and a poller that had already moved past 6 would
never see 5; each publish therefore takes a transaction-scoped advisory lock
first, so ids become visible in order. SQLite has one writer at a time anyway.

The poller's queries run on one dedicated thread with its own connection
(Django has no async database driver): one thread hop per poll, never one per viewer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
from django.db import connection, connections, transaction
from django.db.models import Max, Min

from chorus.streams import LiveEvent, dump_event_data

__all__ = ["DatabaseBackend"]

T = TypeVar("T")

# Any fixed number: it names this lock among the application's advisory locks.
_PUBLISH_LOCK = 0x6C697665
# Trimming costs a DELETE: do it on every Nth id rather than on every publish.
_TRIM_EVERY = 100


class DatabaseBackend:
    def __init__(self, *, backlog: int, poll_interval: float) -> None:
        self.backlog = backlog
        self.poll_interval = poll_interval

    def publish(self, kind: str, data: Mapping[str, Any]) -> str:
        from storefront.live.models import StoredEvent

        text = dump_event_data(data)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PUBLISH_LOCK])
            event = StoredEvent.objects.create(kind=kind, data=text)
            if event.pk % _TRIM_EVERY == 0:
                StoredEvent.objects.filter(pk__lte=event.pk - self.backlog).delete()
        return str(event.pk)

    def sort_key(self, event_id: str) -> tuple[int, int]:
        if not (event_id.isascii() and event_id.isdigit()) or len(event_id) > 19:
            raise ValueError(f"not an event id: {event_id!r}")
        return (int(event_id), 0)

    def reader(self) -> DatabaseReader:
        return DatabaseReader(self)


class DatabaseReader:
    def __init__(self, backend: DatabaseBackend) -> None:
        self._backend = backend
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="live-poller")

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def latest_id(self) -> str:
        return str(await self._run(_latest) or 0)

    async def read_after(self, after: str, *, limit: int, wait: float) -> list[LiveEvent]:
        start = self._backend.sort_key(after)[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            rows = await self._run(_rows_after, start, limit)
            if rows or loop.time() >= deadline:
                return [
                    LiveEvent(str(pk), kind, orjson.loads(data), (pk, 0)) for pk, kind, data in rows
                ]
            await asyncio.sleep(min(self._backend.poll_interval, max(0.0, deadline - loop.time())))

    async def can_resume(self, after: str) -> bool:
        position = self._backend.sort_key(after)[0]
        oldest, newest = await self._run(_bounds)
        if newest is None:
            # Empty: trimming always keeps the newest rows, so nothing after a viewer was
            # trimmed; ids issued but not yet committed are still to come.
            return position <= (await self._run(_last_issued_id_of_events) or 0)
        # Ids are consecutive unless a publish rolled back: a gap then reads as a (harmless) reset.
        return oldest - 1 <= position <= newest

    async def aclose(self) -> None:
        try:
            await self._run(connections.close_all)
        finally:
            self._thread.shutdown(wait=False)


def _latest() -> int | None:
    from storefront.live.models import StoredEvent

    newest: int | None = StoredEvent.objects.aggregate(newest=Max("pk"))["newest"]
    if newest is None:
        # An empty table may still have handed out ids (all trimmed, or flushed): start
        # after the last one, so that a viewer resuming from here is not told to reset.
        newest = _last_issued_id(StoredEvent._meta.db_table)
    return newest


def _last_issued_id(table: str) -> int | None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        elif connection.vendor == "postgresql":
            # last_value is NULL until the sequence first hands out an id.
            cursor.execute(
                "SELECT last_value FROM pg_sequences WHERE sequencename = %s", [f"{table}_id_seq"]
            )
        else:
            return None
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _last_issued_id_of_events() -> int | None:
    from storefront.live.models import StoredEvent

    return _last_issued_id(StoredEvent._meta.db_table)


def _bounds() -> tuple[int, int | None]:
    from storefront.live.models import StoredEvent

    bounds = StoredEvent.objects.aggregate(oldest=Min("pk"), newest=Max("pk"))
    return bounds["oldest"] or 0, bounds["newest"]


def _rows_after(start: int, limit: int) -> list[tuple[int, str, str]]:
    from storefront.live.models import StoredEvent

    return list(
        StoredEvent.objects.filter(pk__gt=start)
        .order_by("pk")
        .values_list("pk", "kind", "data")[:limit]
    )
