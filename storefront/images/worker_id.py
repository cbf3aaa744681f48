"""This process's identity as a task worker: what its heartbeat row and the jobs it claims hold."""

from __future__ import annotations

import os
import socket

from django.utils.crypto import get_random_string

__all__ = ["current_worker_id", "set_worker_id"]

# Celery's pool processes inherit it from the main process through the environment.
_ENV = "STOREFRONT_WORKER_ID"


def set_worker_id(worker_id: str) -> None:
    os.environ[_ENV] = worker_id


def current_worker_id() -> str:
    """This process's worker identity (what the heartbeat row and a claimed job hold)."""
    worker_id = os.environ.get(_ENV)
    if not worker_id:
        worker_id = f"{socket.gethostname()}:{os.getpid()}:{get_random_string(6)}"
        set_worker_id(worker_id)
    return worker_id
