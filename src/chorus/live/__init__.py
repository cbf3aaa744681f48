"""Live events: one event log, one reader per worker, every viewer of every worker.

    from chorus.live import RedisStreamLog, get_hub, LiveStreamResponse

    LOG = RedisStreamLog("redis://127.0.0.1:6379/0", stream="shop:live", backlog=10_000)

    LOG.publish("order.created", {"id": 12})          # from any process, sync

    async def live(request):                          # GET: Server-Sent Events, resumable
        return LiveStreamResponse(request, get_hub(LOG), after=chorus.last_event_id(request))

- ``EventLog`` (``log.py``): the interface a log implements: ``publish``,
  ``sort_key`` and an async ``reader``. ``RedisStreamLog`` is chorus's; a
  project can bring another (storefront keeps its events in a table).
- ``Hub`` (``hub.py``): per event loop and log, one reader task and one
  writer task that hands each viewer's bounded ``Subscription``
  (``subscription.py``) what it has not had; resume, ``Reset`` and ``Overflow``.
- ``LiveStreamResponse`` (``response.py``): a subscription as SSE, with
  heartbeats and draining, at one wake-up and one write per viewer and batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chorus.live.hub import Hub, aclose_hubs, get_hub
from chorus.live.log import EventLog, LiveEvent, LogReader
from chorus.live.response import LiveStreamResponse, to_frame
from chorus.live.subscription import Batch, Idle, Overflow, Ready, Reset, Subscription

if TYPE_CHECKING:
    from chorus.live.redis_stream import RedisStreamLog

__all__ = [
    "Batch",
    "EventLog",
    "Hub",
    "Idle",
    "LiveEvent",
    "LiveStreamResponse",
    "LogReader",
    "Overflow",
    "Ready",
    "RedisStreamLog",
    "Reset",
    "Subscription",
    "aclose_hubs",
    "get_hub",
    "to_frame",
]


def __getattr__(name: str) -> object:
    # redis is an optional dependency: imported only when its log is asked for.
    if name == "RedisStreamLog":
        from chorus.live.redis_stream import RedisStreamLog

        return RedisStreamLog
    raise AttributeError(f"module 'chorus.live' has no attribute {name!r}")
