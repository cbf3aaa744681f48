"""chorus's streams: Server-Sent Events, and live events to every viewer of every worker.

    from chorus.streams import Event, EventStreamResponse, last_event_id

    async def ticks(request):
        async def produce():
            for n in range(3):
                yield Event(data={"n": n}, id=str(n))
        return EventStreamResponse(request, produce())

Live events: one event log, one reader per worker, every viewer of every worker::

    from chorus.streams import LiveStreamResponse, RedisStreamLog, get_hub, last_event_id

    LOG = RedisStreamLog("redis://127.0.0.1:6379/0", stream="shop:live", backlog=10_000)

    LOG.publish("order.created", {"id": 12})          # from any process, sync

    async def live(request):                          # GET: Server-Sent Events, resumable
        return LiveStreamResponse(request, get_hub(LOG), after=last_event_id(request))

- ``Event``, ``EventStreamResponse`` (``_sse.py``): one response, its events as they come;
- ``EventLog`` (``_event_log.py``): the interface a log implements: ``publish``,
  ``sort_key`` and an async ``reader``. ``RedisStreamLog`` (``_redis_stream_log.py``,
  the ``redis`` extra) is chorus's; a project can bring another;
- ``Hub`` (``_hub.py``): per event loop and log, one reader task and one writer
  task that hands each viewer's bounded ``Subscription`` (``_subscription.py``)
  what it has not had; resume, ``Reset`` and ``Overflow``;
- ``LiveStreamResponse`` (``_live_response.py``): a subscription as SSE, with
  heartbeats and draining, at one wake-up and one write per viewer and batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chorus.engine._metrics import track_stream
from chorus.streams._encoding import dump_event_data
from chorus.streams._event_log import EventLog, LiveEvent, LogReader
from chorus.streams._hub import Hub, aclose_hubs, get_hub
from chorus.streams._live_response import LiveStreamResponse, to_frame
from chorus.streams._sse import Event, EventStreamBase, EventStreamResponse, last_event_id
from chorus.streams._subscription import Batch, Idle, Overflow, Ready, Reset, Subscription

if TYPE_CHECKING:
    from chorus.streams._redis_stream_log import RedisStreamLog

__all__ = [
    "Batch",
    "Event",
    "EventLog",
    "EventStreamBase",
    "EventStreamResponse",
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
    "dump_event_data",
    "get_hub",
    "last_event_id",
    "to_frame",
    "track_stream",
]


def __getattr__(name: str) -> object:
    # redis is an optional dependency: imported only when its log is asked for.
    if name == "RedisStreamLog":
        try:
            from chorus.streams._redis_stream_log import RedisStreamLog
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                "chorus.streams.RedisStreamLog needs redis: pip install 'django-chorus[redis]'"
            ) from error
        return RedisStreamLog
    raise AttributeError(f"module 'chorus.streams' has no attribute {name!r}")
