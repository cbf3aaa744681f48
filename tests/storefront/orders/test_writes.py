"""Writes on SQLite: WAL, and one writer thread per process that queues them."""

import asyncio
import threading

import pytest
from asgiref.sync import ThreadSensitiveContext
from django.db import connection

from storefront.orders.writes import write

pytestmark = pytest.mark.django_db(transaction=True)


def _journal_mode() -> tuple[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return cursor.fetchone()[0], threading.get_ident()


def _overlapping(active: list[int], peak: list[int]) -> int:
    active.append(1)
    peak.append(len(active))
    threading.Event().wait(0.002)  # in the writer thread: a write that takes a moment
    active.pop()
    return threading.get_ident()


async def test_sqlite_writes_queue_on_one_thread_in_wal_mode():
    if connection.vendor != "sqlite":
        pytest.skip("the writer thread is SQLite's")
    mode, writer = await write(_journal_mode)
    assert mode == "wal"
    assert writer != threading.get_ident()
    active: list[int] = []
    peak: list[int] = []
    threads = await asyncio.gather(*(write(_overlapping, active, peak) for _ in range(50)))
    assert set(threads) == {writer}
    assert max(peak) == 1  # one at a time: never two writers waiting on SQLite's lock


async def test_postgresql_writes_run_side_by_side_in_their_requests_threads(postgres_url):
    active: list[int] = []
    peak: list[int] = []

    async def request() -> int:
        async with ThreadSensitiveContext():  # as ChorusASGIHandler gives each request
            return await write(_overlapping, active, peak)

    threads = await asyncio.gather(*(request() for _ in range(8)))
    assert len(set(threads)) == 8
