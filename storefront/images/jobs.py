"""One image job's life on a worker: claim it, render it, store the variants, report.

queued -> processing (percent) -> done | failed (with a reason). Transient
errors (storage, database) put the job back in the queue with a growing delay,
``STOREFRONT_IMAGE_MAX_ATTEMPTS`` attempts in all; a corrupt image or a job over
its time limit fails at once. Outputs have fixed names per job, so a re-run
(a retry, or a job re-queued after its worker died) overwrites them.

The job logic queues nothing itself: ``run`` returns a retry's delay, and the
task that carries the job (``tasks.py``) queues it again.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.db.models import F, Q
from django.utils import timezone

from storefront import live
from storefront.images.conf import VARIANTS, conf
from storefront.images.models import ImageJob, Status
from storefront.images.processing import CorruptImage, render_variants
from storefront.images.worker_id import current_worker_id

__all__ = ["EVENT", "claim", "publish", "run"]

logger = logging.getLogger(__name__)

EVENT = "image.progress"
_BACKOFF_SECONDS = (2, 10, 30)


class JobTimeout(Exception):
    """The attempt ran past ``STOREFRONT_IMAGE_TIME_LIMIT``."""


def publish(job_id: int, status: str, progress: int, error: str, **extra: Any) -> None:
    """The job's progress on the live bus; a bus failure never fails the job."""
    try:
        live.publish(
            EVENT,
            {"id": job_id, "status": status, "progress": progress, "error": error, **extra},
        )
    except Exception:
        logger.warning("image job %s: progress event not published", job_id, exc_info=True)


def claim(job_id: int, worker: str) -> bool:
    """Take the job for ``worker``: only a queued one, or one this worker already holds."""
    claimable = Q(status=Status.QUEUED) | Q(status=Status.PROCESSING, worker=worker)
    now = timezone.now()
    # The attempt is counted in the same UPDATE: a worker killed right after claiming
    # cannot leave a job "processing" with its attempt uncounted.
    return bool(
        ImageJob.objects.filter(claimable, pk=job_id).update(
            status=Status.PROCESSING,
            worker=worker,
            progress=5,
            attempts=F("attempts") + 1,
            started_at=now,
            updated_at=now,
        )
    )


def _progress(job_id: int, percent: int) -> None:
    ImageJob.objects.filter(pk=job_id).update(progress=percent, updated_at=timezone.now())
    publish(job_id, Status.PROCESSING, percent, "")
    delay = conf.step_delay
    if delay:
        time.sleep(delay)


def run(job_id: int) -> float | None:
    """The task body: everything a worker does for one job, never raising for a bad image.

    Returns the delay in seconds after which the job is to run again (a transient error,
    the job back in ``queued``), or ``None``; the task that carries the job queues it.
    """
    worker = current_worker_id()
    if not claim(job_id, worker):
        logger.info("image job %s: not queued (done, failed or held elsewhere); skipped", job_id)
        return None
    job = ImageJob.objects.get(pk=job_id)
    publish(job_id, Status.PROCESSING, 5, "")
    try:
        with _time_limit(conf.time_limit):
            variants = _render_and_store(job)
    except CorruptImage as exc:
        _fail(job_id, str(exc))
    except JobTimeout:
        _fail(job_id, f"processing took longer than {conf.time_limit:g} s")
    except (OSError, DatabaseError) as exc:
        return _retry_or_fail(job, exc)
    else:
        _finish(job_id, variants)
    return None


def _render_and_store(job: ImageJob) -> dict[str, dict[str, Any]]:
    with default_storage.open(job.original, "rb") as source:
        _progress(job.pk, 20)
        rendered = render_variants(
            source, job.format, VARIANTS, lambda percent: _progress(job.pk, percent)
        )
    variants = {}
    for name, image in rendered.items():
        storage_name = _variant_name(job, name)
        # Same name on every attempt: a re-run replaces the earlier output.
        if default_storage.exists(storage_name):
            default_storage.delete(storage_name)
        saved = default_storage.save(storage_name, ContentFile(image.data))
        variants[name] = {
            "name": saved,
            "format": "webp",
            "width": image.width,
            "height": image.height,
            "bytes": len(image.data),
        }
    return variants


def _variant_name(job: ImageJob, variant: str) -> str:
    folder = job.original.rsplit("/", 1)[0]
    return f"{folder}/{variant}.webp"


def _finish(job_id: int, variants: dict[str, dict[str, Any]]) -> None:
    ImageJob.objects.filter(pk=job_id).update(
        status=Status.DONE,
        progress=100,
        error="",
        variants=variants,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    # Every live viewer gets the event: it says how far the job is, never where its files
    # are (the owner reads those from the job endpoint).
    publish(job_id, Status.DONE, 100, "")


def _fail(job_id: int, reason: str) -> None:
    logger.warning("image job %s failed: %s", job_id, reason)
    ImageJob.objects.filter(pk=job_id).update(
        status=Status.FAILED, error=reason, finished_at=timezone.now(), updated_at=timezone.now()
    )
    publish(job_id, Status.FAILED, 100, reason)


def _retry_or_fail(job: ImageJob, exc: Exception) -> float | None:
    """The job back in the queue with the delay of its retry, or failed after its last attempt."""
    attempts = job.attempts  # counted by the claim, this one included
    if attempts >= conf.max_attempts:
        _fail(job.pk, f"gave up after {attempts} attempts: {type(exc).__name__}: {exc}")
        return None
    delay = _BACKOFF_SECONDS[min(attempts - 1, len(_BACKOFF_SECONDS) - 1)]
    logger.warning("image job %s: %s; retrying in %s s", job.pk, exc, delay)
    ImageJob.objects.filter(pk=job.pk).update(
        status=Status.QUEUED, progress=0, worker="", updated_at=timezone.now()
    )
    publish(job.pk, Status.QUEUED, 0, "")
    return delay


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the attempt after ``seconds`` (SIGALRM: the worker's main thread only).

    Off the main thread (a thread pool) the engine's own limit applies instead
    (Celery's ``task_time_limit``), and the heartbeat's sweep catches the rest.
    """
    if threading.current_thread() is not threading.main_thread() or not seconds:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise JobTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
