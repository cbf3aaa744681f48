"""The Celery worker's heartbeat, started and stopped by Celery's worker signals."""

from __future__ import annotations

from typing import Any

from celery import signals

from storefront.images.workers import Heartbeat, set_worker_id

__all__ = ["connect"]

_heartbeat: list[Heartbeat] = []


def _on_init(sender: Any = None, **kwargs: Any) -> None:
    # Before the pool forks: every pool process inherits the identity its jobs are claimed by.
    import os
    import socket

    set_worker_id(f"celery:{socket.gethostname()}:{os.getpid()}")


def _on_ready(sender: Any = None, **kwargs: Any) -> None:
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
