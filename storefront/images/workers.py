"""Task workers say they are alive; jobs held by a worker that stopped saying so are re-queued.

Each worker process (``manage.py db_worker`` or ``celery -A storefront worker``)
runs ``Heartbeat``: a daemon thread that upserts its ``WorkerHeartbeat`` row every
``STOREFRONT_WORKER_HEARTBEAT`` seconds and, on the same beat, re-queues the
image jobs left ``processing`` by a worker silent for three beats (killed
mid-job: SIGKILL, OOM, a lost machine). The job's claim (``jobs.claim``) makes
sure a re-queued job runs once even if the dead worker's own message comes back.

``last_seen()`` is for ``/readyz``: when any task worker last reported.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.db.models import Max
from django.utils import timezone

from storefront.images import jobs, tasks
from storefront.images.conf import conf
from storefront.images.models import ImageJob, Status, WorkerHeartbeat
from storefront.images.worker_id import current_worker_id, set_worker_id

__all__ = ["Heartbeat", "last_seen", "requeue_orphans"]

logger = logging.getLogger(__name__)


def last_seen() -> datetime | None:
    """When a task worker last reported alive (any worker, any engine); ``None``: never."""
    value: datetime | None = WorkerHeartbeat.objects.aggregate(latest=Max("last_seen"))["latest"]
    return value


def beat(worker_id: str, engine: str, started_at: datetime) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "engine": engine,
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": timezone.now(),
        },
    )


def requeue_orphans() -> list[int]:
    """Re-queue jobs held by workers silent for three beats; returns their ids."""
    cutoff = timezone.now() - timedelta(seconds=conf.stale_after_seconds)
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).values("worker_id")
    orphans = ImageJob.objects.filter(status=Status.PROCESSING, updated_at__lt=cutoff).exclude(
        worker__in=alive
    )
    requeued = []
    for job_id, worker in orphans.values_list("pk", "worker"):
        # One sweeper wins each job: the update matches only while the dead worker holds it.
        taken = ImageJob.objects.filter(pk=job_id, status=Status.PROCESSING, worker=worker).update(
            status=Status.QUEUED, progress=0, worker="", updated_at=timezone.now()
        )
        if taken:
            logger.warning("image job %s: its worker %s stopped; re-queued", job_id, worker)
            tasks.enqueue(job_id)
            jobs.publish(job_id, Status.QUEUED, 0, "")
            requeued.append(job_id)
    _fail_overdue()
    return requeued


def _fail_overdue() -> None:
    """A job past its time limit on a live worker (Celery's hard limit struck): failed, said why."""
    cutoff = timezone.now() - timedelta(seconds=conf.time_limit + conf.stale_after_seconds)
    overdue = ImageJob.objects.filter(status=Status.PROCESSING, started_at__lt=cutoff)
    for job_id in overdue.values_list("pk", flat=True):
        reason = f"processing took longer than {conf.time_limit:g} s"
        if ImageJob.objects.filter(
            pk=job_id, status=Status.PROCESSING, started_at__lt=cutoff
        ).update(
            status=Status.FAILED,
            error=reason,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        ):
            jobs.publish(job_id, Status.FAILED, 100, reason)


class Heartbeat:
    """The beat thread of one worker process; ``start()`` beats once before returning."""

    def __init__(self, engine: str, worker_id: str | None = None) -> None:
        self.engine = engine
        self.worker_id = worker_id or current_worker_id()
        set_worker_id(self.worker_id)
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        self._once()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(conf.heartbeat_seconds):
            self._once()

    def _once(self) -> None:
        try:
            beat(self.worker_id, self.engine, self.started_at)
            requeue_orphans()
        except Exception:
            # A database hiccup costs one beat, never the worker.
            logger.exception("worker heartbeat failed")
        finally:
            # This thread's own connection: closed so it never goes stale between beats.
            close_old_connections()
            connection.close()
