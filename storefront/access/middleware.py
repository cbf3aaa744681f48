"""Every ``/api/`` request needs an API key or a logged-in staff session.

- ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``: checked by
  ``keys.acheck_key`` (cached; the database only on a miss). A ``read`` key may
  only use safe methods (GET, HEAD, OPTIONS): anything else is a 403. Such
  requests carry no cookies, so CSRF cannot apply to them and is switched off
  for them alone.
- ``Authorization: Bearer <JWT>``, when ``STOREFRONT_JWT`` is configured:
  validated locally by ``tokens.check_token`` (signature, issuer, audience,
  expiry); its ``scope`` claim decides read or read-write, as a key's scope does.
- Otherwise a session cookie: the user must be active staff. The dashboard
  page's ``EventSource`` and ``fetch`` calls authenticate this way, and their
  unsafe requests still go through ``CsrfViewMiddleware``.

No credentials, or bad ones, is a 401 JSON error with ``WWW-Authenticate``;
each refusal takes a token from the client address's anonymous rate limit, so
guessing keys soon meets a 429.
Whoever passes gets ``request.credential`` (a ``keys.Credential`` or ``None``)
and ``request.api_identity`` (``key:<id>``, ``jwt:<sub>`` or ``user:<id>``, for rate limits).
Other paths pass through untouched. Sits after ``AuthenticationMiddleware``.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from chorus.server import DualModeMiddleware
from storefront.access.keys import Credential, acheck_key, check_key
from storefront.access.tokens import check_token, looks_like_jwt
from storefront.http.errors import is_api_path, json_error
from storefront.http.ratelimit import limited, limited_sync

__all__ = ["ApiAccessMiddleware", "decide", "needs", "presented_key"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHALLENGE = 'Bearer realm="storefront"'


def presented_key(request: HttpRequest) -> str | None:
    """The key in ``Authorization: Bearer`` or ``X-API-Key``; ``""`` for a malformed header."""
    # META rather than request.headers, which would build a mapping of every header.
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""
    key = request.META.get("HTTP_X_API_KEY")
    return None if key is None else key.strip()


class _Denied(Exception):
    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response


def _unauthorized(message: str, *, bad_token: bool) -> _Denied:
    challenge = f'{_CHALLENGE}, error="invalid_token"' if bad_token else _CHALLENGE
    return _Denied(json_error(401, "unauthorized", message, WWW_Authenticate=challenge))


def _allow_key(request: HttpRequest, credential: Credential | None) -> None:
    if credential is None:
        raise _unauthorized("The API key is not valid.", bad_token=True)
    if request.method not in _SAFE_METHODS and not credential.can_write:
        raise _Denied(
            json_error(403, "insufficient_scope", "This API key may only read (scope: read).")
        )
    request.credential = credential  # type: ignore[attr-defined]
    request.api_identity = credential.identity  # type: ignore[attr-defined]
    # A key travels in a header a browser never adds by itself: no cookie, no CSRF risk.
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]


def _allow_user(request: HttpRequest, user: object) -> None:
    if not getattr(user, "is_authenticated", False):
        raise _unauthorized("Send an API key or log in as staff.", bad_token=False)
    if not (getattr(user, "is_active", False) and getattr(user, "is_staff", False)):
        raise _Denied(json_error(403, "forbidden", "Only staff may use the API."))
    request.credential = None  # type: ignore[attr-defined]
    request.api_identity = f"user:{getattr(user, 'pk', '')}"  # type: ignore[attr-defined]


def _has_session(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def needs(request: HttpRequest) -> tuple[str, str] | None:
    """What must be looked up to decide: ``("key", key)``, ``("session", "")``, or nothing.

    ``None`` when the request is decided without a lookup (not an API path, or a
    bearer JWT, which is checked locally): ``decide`` then needs no ``found``.
    """
    if not is_api_path(request.path):
        return None
    key = presented_key(request)
    if key is None:
        return ("session", "")
    if key and not looks_like_jwt(key):
        return ("key", key)
    return None


def decide(request: HttpRequest, found: object = None) -> HttpResponseBase | None:
    """Let the request through (``None``) or refuse it; ``found`` is what ``needs`` asked for."""
    if not is_api_path(request.path):
        return None
    try:
        key = presented_key(request)
        if key is None:
            _allow_user(request, found)
        elif not key or looks_like_jwt(key):
            _allow_key(request, check_token(key) if key else None)
        else:
            _allow_key(request, found)  # type: ignore[arg-type]
    except _Denied as denied:
        return denied.response
    return None


class ApiAccessMiddleware(DualModeMiddleware):
    """See the module docstring. Async-native; sync-capable for the WSGI baseline.

    ``needs`` and ``decide`` hold the rules; the two entry points only look up
    what they ask for, each the way its mode can (the async ORM, or the sync one).
    """

    def call(self, request: HttpRequest) -> HttpResponseBase:
        need = needs(request)
        found: object = None
        if need is not None:
            kind, key = need
            found = check_key(key) if kind == "key" else _session_user_sync(request)
        refused = decide(request, found)
        if refused is not None:
            return limited_sync(request) or refused
        response: HttpResponseBase = self.get_response(request)
        return response

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        need = needs(request)
        found: object = None
        if need is not None:
            kind, key = need
            found = await acheck_key(key) if kind == "key" else await _session_user(request)
        refused = decide(request, found)
        if refused is not None:
            # Failed attempts count against the client's address: no free guessing.
            return await limited(request) or refused
        return await self.get_response(request)


async def _session_user(request: HttpRequest) -> object:
    # Without a session cookie there is no user to load: no query, no hop.
    return await request.auser() if _has_session(request) else None


def _session_user_sync(request: HttpRequest) -> object:
    return request.user if _has_session(request) else None
