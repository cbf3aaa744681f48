"""``check --deploy`` that sees storefront's async-native middleware for what it is.

Django's security checks find middleware by exact path
(``"django.middleware.security.SecurityMiddleware" in settings.MIDDLEWARE``).
Storefront's stack holds async-native subclasses (``chorus.server``'s and
``storefront.http.middleware``'s),
so Django's checks would warn that the built-ins are missing (security.W001,
W002, W003) and, worse, skip every check that depends on them (HSTS, the
HTTPS redirect, secure CSRF cookies, X-Frame-Options...), passing them
without looking. Settings silence those three path-based warnings; these
checks take their place:

- ``storefront.W001``: no SecurityMiddleware, XFrameOptionsMiddleware or
  CsrfViewMiddleware, nor a subclass of one, in ``MIDDLEWARE``;
- every Django security check that depends on those middleware runs again
  with each subclass named by its Django base, and reports under Django's ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.checks.security import base, csrf, sessions
from django.test.utils import override_settings
from django.utils.module_loading import import_string

__all__ = ["check_middleware_settings", "check_security_middleware_present"]

_GUARDED = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
)
_PRESENCE_REQUIRED = _GUARDED[:3]
_DEPENDENT_CHECKS = (
    base.check_sts,
    base.check_sts_include_subdomains,
    base.check_sts_preload,
    base.check_content_type_nosniff,
    base.check_ssl_redirect,
    base.check_xframe_deny,
    base.check_referrer_policy,
    base.check_cross_origin_opener_policy,
    base.check_csp_nonce_context_processor,
    csrf.check_csrf_cookie_secure,
    sessions.check_session_cookie_secure,
    sessions.check_session_cookie_httponly,
)


def _as_django_sees_it(path: str) -> str:
    """The Django built-in that the middleware at ``path`` is, or ``path`` itself."""
    if path in _GUARDED:
        return path
    try:
        middleware = import_string(path)
    except ImportError:
        return path
    for builtin in _GUARDED:
        if isinstance(middleware, type) and issubclass(middleware, import_string(builtin)):
            return builtin
    return path


@register(Tags.security, deploy=True)
def check_security_middleware_present(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    present = {_as_django_sees_it(path) for path in settings.MIDDLEWARE}
    return [
        Warning(
            f"Neither {builtin} nor a subclass of it is in MIDDLEWARE.",
            hint="Add it, or its async-native version (chorus.server, storefront.http.middleware).",
            id="storefront.W001",
        )
        for builtin in _PRESENCE_REQUIRED
        if builtin not in present
    ]


@register(Tags.security, deploy=True)
def check_middleware_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    middleware = [_as_django_sees_it(path) for path in settings.MIDDLEWARE]
    if middleware == list(settings.MIDDLEWARE):
        return []  # Django's own checks already saw the real stack
    with override_settings(MIDDLEWARE=middleware):
        return [
            message for check in _DEPENDENT_CHECKS for message in check(app_configs=app_configs)
        ]
