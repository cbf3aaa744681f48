"""chorus's server side: the zero-hop ASGI handler and what stands around a request.

    # asgi.py
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

    from chorus.server import get_asgi_application

    application = get_asgi_application()

- the ASGI handler (``_asgi.py``): Django's request cycle with no thread hop,
  answering lifespan; suspicious input (``_suspicious.py``) and request
  bodies read within limits (``_request_body.py``, ``_limits.py``);
- admission (``_admission.py``): a per-worker door in front of Django;
- lifespan and draining: ``on_shutdown`` callbacks, ``begin_draining``;
- middleware: the bases (``DualModeMiddleware``, ``NonBlockingMiddlewareMixin``),
  ``RequestIDMiddleware`` and ``RequestIDFilter``, ``RouteMetricsMiddleware``.

Its keys of ``CHORUS`` are ``ADMISSION``, ``REQUEST_LIMITS`` and ``BEFORE_BODY``.
"""

from __future__ import annotations

from chorus.engine._draining import begin_draining, is_draining, wait_draining
from chorus.server._admission import AdmissionState, admission_state
from chorus.server._asgi import ChorusASGIHandler, get_asgi_application
from chorus.server._lifespan import on_shutdown
from chorus.server._middleware_bases import DualModeMiddleware, NonBlockingMiddlewareMixin
from chorus.server._request_id import RequestIDFilter, RequestIDMiddleware
from chorus.server._route_metrics import RouteMetricsMiddleware

__all__ = [
    "AdmissionState",
    "ChorusASGIHandler",
    "DualModeMiddleware",
    "NonBlockingMiddlewareMixin",
    "RequestIDFilter",
    "RequestIDMiddleware",
    "RouteMetricsMiddleware",
    "admission_state",
    "begin_draining",
    "get_asgi_application",
    "is_draining",
    "on_shutdown",
    "wait_draining",
]
