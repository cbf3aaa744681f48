"""``before_body``: the ``/api/`` access rules, applied before a request's body is read.

``CHORUS["BEFORE_BODY"]`` names this function; chorus's handler calls it for a
request that declares a body, with the headers only. A stranger's POST (no
credentials, an unknown or read-only key, a bad token) is refused here, so its
body is never read: it costs its headers, not the route's whole body limit.
A request with a session cookie goes on: the session is checked by
``ApiAccessMiddleware`` once the body is in (the route's limit bounds it), as
loading a session is a database query this gate does not make per request.
Refusals take a token from the client address's anonymous rate limit, as the
middleware's do.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from storefront.access.keys import acheck_key
from storefront.access.middleware import decide, needs
from storefront.http.errors import is_api_path
from storefront.http.ratelimit import limited

__all__ = ["before_body"]


async def before_body(request: HttpRequest) -> HttpResponseBase | None:
    if not is_api_path(request.path):
        return None
    need = needs(request)
    found: object = None
    if need is not None:
        kind, key = need
        if kind == "session":
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                return None  # checked after the body, by ApiAccessMiddleware
        else:
            found = await acheck_key(key)
    refused = decide(request, found)
    if refused is None:
        return None
    return await limited(request) or refused
