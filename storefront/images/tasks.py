"""The task, written once against ``django.tasks``: the engine is ``settings.TASKS``.

``STOREFRONT_TASKS=db`` (default): django-tasks-db, run by ``manage.py db_worker``.
``STOREFRONT_TASKS=celery``: django-tasks-celery, run by ``celery -A storefront worker``.
"""

from __future__ import annotations

from django.tasks import task

from storefront.images import jobs

__all__ = ["process_image"]


@task()
def process_image(job_id: int) -> None:
    jobs.run(job_id)
