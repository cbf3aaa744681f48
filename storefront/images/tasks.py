"""The task, written once against ``django.tasks``: the engine is ``settings.TASKS``.

``STOREFRONT_TASKS=db`` (default): django-tasks-db, run by ``manage.py db_worker``.
``STOREFRONT_TASKS=celery``: django-tasks-celery, run by ``celery -A storefront worker``.

Every job is queued through ``enqueue``: by the upload view, by the heartbeat's sweep
(``workers.py``) and by the task itself when ``jobs.run`` asks for a retry.
"""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from storefront.images import jobs

__all__ = ["enqueue", "process_image"]


@task()
def process_image(job_id: int) -> None:
    retry_in = jobs.run(job_id)
    if retry_in is not None:
        enqueue(job_id, delay=retry_in)


def enqueue(job_id: int, *, delay: float = 0) -> None:
    """Queue ``process_image`` for the job, to run after ``delay`` seconds when given."""
    queued = process_image
    if delay:
        queued = queued.using(run_after=timezone.now() + timedelta(seconds=delay))
    queued.enqueue(job_id)
