"""The Celery worker's heartbeat, started and stopped by Celery's worker signals."""

from __future__ import annotations

from typing import Any

from celery import signals

__all__ = ["connect"]

# Imported in the handlers: this module loads with the Celery app, before Django's apps.
_heartbeat: list[Any] = []


def _on_init(sender: Any = None, **kwargs: Any) -> None:
    # Before the pool forks: every pool process inherits the identity its jobs are claimed by.
    import os
    import socket

    from storefront.images.worker_id import set_worker_id

    set_worker_id(f"celery:{socket.gethostname()}:{os.getpid()}")


def _on_ready(sender: Any = None, **kwargs: Any) -> None:
    from storefront.images.workers import Heartbeat

    heartbeat = Heartbeat("celery")
    heartbeat.start()
    _heartbeat.append(heartbeat)


def _on_shutdown(sender: Any = None, **kwargs: Any) -> None:
    while _heartbeat:
        _heartbeat.pop().stop()


def connect() -> None:
    signals.worker_init.connect(_on_init, weak=False)
    signals.worker_ready.connect(_on_ready, weak=False)
    signals.worker_shutdown.connect(_on_shutdown, weak=False)
