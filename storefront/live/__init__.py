"""Live events: what happens in the shop, pushed to every open page on every worker.

Publish from anywhere (a view, a task worker, the shell, the admin), in any process:

    from storefront import live

    live.publish("image.progress", {"job": 7, "percent": 40})         # now
    live.publish_on_commit("order.created", {"id": 12, "status": "pending"})  # after COMMIT

Viewers read ``GET /api/live/`` (SSE) or ``/ws/live/`` (WebSocket). Events pass
through the configured backend (``STOREFRONT_LIVE``): the database by default,
a Redis stream when ``REDIS_URL`` is set. See docs/live-events.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

__all__ = ["publish", "publish_on_commit"]


def publish(kind: str, data: Mapping[str, Any]) -> None:
    """Publish an event now: every viewer, on every worker, receives it once, in order.

    Synchronous (call it from async code through ``sync_to_async``). ``data``
    must be JSON-serializable (``Decimal`` and ``datetime`` are accepted).
    On the database backend, a call inside ``transaction.atomic`` becomes part
    of that transaction (published at commit, dropped on rollback); prefer
    ``publish_on_commit`` to say so.
    """
    from storefront.live.backends import get_backend

    get_backend().publish(kind, data)


def publish_on_commit(kind: str, data: Mapping[str, Any], *, using: str | None = None) -> None:
    """Publish once the current transaction commits; nothing if it rolls back.

    Outside a transaction (autocommit) it publishes at once. A publish that
    fails after the commit is logged, never raised into the committed request.
    """
    from django.db import transaction

    transaction.on_commit(partial(publish, kind, dict(data)), using=using, robust=True)
