"""What ``/readyz`` asks before a worker takes traffic: one async function per part.

``settings.STOREFRONT_READINESS_CHECKS`` lists them by dotted path. Each is
``async def name() -> None`` and raises when its part is not ready; the name
of the function is the part's name in the answer. Adding a part (a task
worker seen recently, say) is one function and one line in settings:

    async def task_worker() -> None:
        if time.time() - await last_seen() > 60:
            raise NotReady("no task worker seen for a minute")
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

import chorus
import chorus.server

__all__ = [
    "CHECK_TIMEOUT",
    "NotReady",
    "aclose_redis",
    "capacity",
    "checks",
    "database",
    "redis",
    "run_checks",
    "task_worker",
]

# Seconds each part has to answer: a probe must answer before the orchestrator's own timeout.
CHECK_TIMEOUT = 2.0

Check = Callable[[], Awaitable[None]]


class NotReady(Exception):
    """A part is up but not ready; its message is shown in the answer."""


@functools.cache
def checks() -> tuple[tuple[str, Check], ...]:
    """The configured checks, imported once (and again when the setting changes)."""
    found = []
    for dotted in settings.STOREFRONT_READINESS_CHECKS:
        check = import_string(dotted)
        found.append((dotted.rsplit(".", 1)[-1], check))
    return tuple(found)


@receiver(setting_changed)
def _forget_on_change(*, setting: str, **kwargs: object) -> None:
    if setting == "STOREFRONT_READINESS_CHECKS":
        checks.cache_clear()


async def _verdict(check: Check) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await check()
    except NotReady as exc:
        return f"not ready: {exc}"
    except TimeoutError:
        return f"unavailable: no answer within {CHECK_TIMEOUT:g} s"
    except Exception as exc:  # a probe reports every failure by its type; it never raises
        return f"unavailable: {type(exc).__name__}"
    return "ok"


async def run_checks() -> dict[str, str]:
    """Every part's verdict, ``"ok"`` or why not, the checks running concurrently."""
    configured = checks()
    verdicts = await asyncio.gather(*(_verdict(check) for _, check in configured))
    return {name: verdict for (name, _), verdict in zip(configured, verdicts, strict=True)}


# -- the parts -------------------------------------------------------------------------


async def capacity() -> None:
    """This worker is not saturated: no request waits at a full door, and fewer bodies
    than ``SATURATED_BODY_READS`` are being read (``chorus.server.saturation``).

    A saturated worker is alive (``/healthz`` 200) but should take no more traffic:
    a load balancer that sees the 503 sends it to another worker until this one
    has caught up. Issue 25: 260 stalled bodies and ``/healthz`` still healthy.
    """
    reason = chorus.server.saturation()
    if reason is not None:
        raise NotReady(reason)


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def database() -> None:
    """The default database answers a query (from the pool, under PostgreSQL)."""
    await sync_to_async(_select_one)()


# One client per event loop, made on first use: a client's connections belong to its loop.
_redis_clients: chorus.LoopLocal[dict[str, Any]] = chorus.LoopLocal(dict)


async def redis() -> None:
    """Redis (``REDIS_URL``: cache, rate limits, shared breakers, live events) answers PING."""
    url: str = settings.REDIS_URL
    clients = _redis_clients.get()
    client = clients.get(url)
    if client is None:
        from redis.asyncio import Redis

        client = clients[url] = Redis.from_url(
            url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
        )
    if not await client.ping():
        raise NotReady("PING was not answered with PONG")


async def aclose_redis() -> None:
    """Close the running loop's client (server shutdown)."""
    for client in (_redis_clients.pop() or {}).values():
        await client.aclose()


async def task_worker() -> None:
    """A task worker (db_worker or Celery) beat within three of its heartbeat intervals."""
    from storefront.images.conf import conf
    from storefront.images.workers import last_seen

    seen = await sync_to_async(last_seen)()
    if seen is None:
        raise NotReady("no task worker has been seen")
    allowed = conf.stale_after_seconds
    silent = (timezone.now() - seen).total_seconds()
    if silent > allowed:
        raise NotReady(f"no task worker seen for {silent:.0f} s")
