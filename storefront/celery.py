"""The Celery app for ``celery -A storefront worker`` (``STOREFRONT_TASKS=celery``).

Configured from Django settings (``CELERY_*``, see settings.py); the tasks are
``django.tasks`` tasks, bridged by django-tasks-celery, and found by importing
each app's ``tasks`` module.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

app = Celery("storefront")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["storefront.images"])

from storefront.images import celery_signals  # noqa: E402 - after the app exists

celery_signals.connect()
