"""``write``: run a sync unit of work that writes; on SQLite, on the process's one writer thread.

SQLite has one writer at a time. With ``transaction_mode = IMMEDIATE`` each
writer takes the lock at ``BEGIN`` and the others wait in SQLite's busy
handler, which sleeps in growing steps (up to 100 ms) rather than queueing;
and each request's own thread opens, sets up (WAL, ``synchronous``) and closes
its own connection. 200 simultaneous order creations took 3.6 s that way
(bench/orders_create.py). Here SQLite writes queue for one long-lived thread
that keeps its connection open: no busy sleeps and no connection set-up per
write. Other processes (a task worker, a second web worker) still meet the
busy timeout, which stays as the backstop. PostgreSQL writers run side by side
in their requests' own threads, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import connections

__all__ = ["write"]

_sqlite_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")


async def write[**P, R](work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``await sync_to_async(work)(*args, **kwargs)``, on the writer thread on SQLite."""
    if connections["default"].vendor != "sqlite":
        return await sync_to_async(work)(*args, **kwargs)
    return await sync_to_async(work, thread_sensitive=False, executor=_sqlite_writer)(
        *args, **kwargs
    )
