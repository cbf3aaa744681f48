"""chorus's server side: the zero-hop ASGI handler and what stands around a request.

    # asgi.py
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

    from chorus.server import get_asgi_application

    application = get_asgi_application()

- the ASGI handler (``_asgi.py``): Django's request cycle with no thread hop,
  answering lifespan; suspicious input (``_suspicious.py``) and request
  bodies read within limits (``_request_body.py``, ``_limits.py``); with
  tracing on, each request in a server span continuing its caller's trace
  (``_tracing.py``);
- admission (``_admission.py``, its controller in ``_admission_controller.py``):
  a per-worker door in front of Django, and
  ``saturation()`` (``_saturation.py``): whether the door is full with requests
  waiting, or too many bodies are being read, for a readiness probe;
- lifespan and draining: ``on_shutdown`` callbacks, ``begin_draining``;
- middleware: the bases (``DualModeMiddleware``, ``NonBlockingMiddlewareMixin``),
  ``RequestIDMiddleware`` and ``RequestIDFilter``, ``RouteMetricsMiddleware``;
  Django's stock middleware whose hooks never block, with their hooks on the
  loop (``_stock_middleware.py``, ``_auth_middleware.py``): ``SecurityMiddleware``,
  ``CommonMiddleware``, ``AuthenticationMiddleware``, ``XFrameOptionsMiddleware``.

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
from chorus.server._saturation import saturation
from chorus.server._stock_middleware import (
    CommonMiddleware,
    SecurityMiddleware,
    XFrameOptionsMiddleware,
)

__all__ = [
    "AdmissionState",
    "AuthenticationMiddleware",
    "ChorusASGIHandler",
    "CommonMiddleware",
    "DualModeMiddleware",
    "NonBlockingMiddlewareMixin",
    "RequestIDFilter",
    "RequestIDMiddleware",
    "RouteMetricsMiddleware",
    "SecurityMiddleware",
    "XFrameOptionsMiddleware",
    "admission_state",
    "begin_draining",
    "get_asgi_application",
    "is_draining",
    "on_shutdown",
    "saturation",
    "wait_draining",
]


def __getattr__(name: str) -> object:
    # Django's auth middleware imports the auth models: loaded when first asked for.
    if name == "AuthenticationMiddleware":
        from chorus.server._auth_middleware import AuthenticationMiddleware

        return AuthenticationMiddleware
    raise AttributeError(f"module 'chorus.server' has no attribute {name!r}")
