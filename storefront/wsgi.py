"""WSGI entry point: kept for the sync baseline (``/api/sync/dashboard/`` under gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

application = get_wsgi_application()
