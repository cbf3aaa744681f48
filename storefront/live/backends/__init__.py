"""Which event log carries storefront's live events: ``STOREFRONT_LIVE["BACKEND"]``.

- ``"database"``: storefront's event table, polled (``database.py``); the
  embedded default, SQLite included, so a separate process reaches the page
  with no other service.
- ``"redis"``: ``chorus.streams.RedisStreamLog``, a Redis stream (``XADD`` with
  ``MAXLEN``) read with blocking ``XREAD``; chosen when ``REDIS_URL`` is set.

Both implement ``chorus.streams.EventLog``; the hub, the SSE response and the
Redis log are chorus's, and only the table is storefront's own.
"""

from __future__ import annotations

from chorus.streams import EventLog, Hub
from chorus.streams import get_hub as hub_of

__all__ = ["get_backend", "get_hub"]

_backends: dict[tuple[object, ...], EventLog] = {}


def get_backend() -> EventLog:
    """The configured log (``STOREFRONT_LIVE["BACKEND"]``), one per process and setting."""
    from storefront.live.conf import live_settings

    conf = live_settings()
    key = (conf.backend, conf.redis_url, conf.stream, conf.backlog, conf.poll_interval)
    backend = _backends.get(key)
    if backend is None:
        if conf.backend == "redis":
            from chorus.streams import RedisStreamLog

            assert conf.redis_url is not None
            backend = RedisStreamLog(conf.redis_url, stream=conf.stream, backlog=conf.backlog)
        else:
            from storefront.live.backends.database import DatabaseBackend

            backend = DatabaseBackend(backlog=conf.backlog, poll_interval=conf.poll_interval)
        _backends[key] = backend
    return backend


def get_hub() -> Hub:
    """The running loop's hub for the configured log."""
    from storefront.live.conf import live_settings

    return hub_of(get_backend(), viewer_queue=live_settings().viewer_queue)
