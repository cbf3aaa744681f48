"""``manage.py db_worker``: django-tasks-db's worker, plus storefront's worker heartbeat.

The same command and options as django-tasks-db's (this app is listed before it,
so Django finds this one); the heartbeat thread (``storefront.images.workers``)
records the worker alive and re-queues jobs whose worker died mid-job, which
the database backend would otherwise leave RUNNING for ever.
"""

from __future__ import annotations

from typing import Any

from django_tasks_db.management.commands import db_worker

from storefront.images.workers import Heartbeat


class Command(db_worker.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        heartbeat = Heartbeat("db", f"db:{options['worker_id']}")
        heartbeat.start()
        try:
            super().handle(*args, **options)
        finally:
            heartbeat.stop()
