"""Django's built-in middleware that chorus leaves to Django, made async-native for storefront.

chorus ships the ones whose hooks never block (``chorus.server.SecurityMiddleware``,
``CommonMiddleware``, ``XFrameOptionsMiddleware``, ``AuthenticationMiddleware``);
storefront lists those directly, and subclasses ``AuthenticationMiddleware`` here to
hold the request weakly. The classes below are Django's own with
``chorus.server.NonBlockingMiddlewareMixin``, for hooks that block only sometimes:
they run on the event loop and hop to a thread only when they may do I/O:

- sessions: saving a modified session writes to the database;
- messages: storing messages may load the session;
- CSRF: for a multipart POST, reading ``request.POST`` may spool uploads to disk,
  and with ``CSRF_USE_SESSIONS`` the token lives in the session.

chorus does not ship these: each decides when to hop by storefront's settings
(database sessions, cookie-or-session messages), which a library cannot assume.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.messages.storage import default_storage
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponseBase
from django.middleware import csp, csrf
from django.utils.functional import SimpleLazyObject, empty
from servestatic.middleware import ServeStaticMiddleware

from chorus import server as chorus_server
from chorus.server import NonBlockingMiddlewareMixin

__all__ = [
    "AuthenticationMiddleware",
    "ContentSecurityPolicyMiddleware",
    "CsrfViewMiddleware",
    "MessageMiddleware",
    "SessionMiddleware",
]


# A non-HTML answer (JSON, an event stream, a static asset) is never rendered as a
# document: the strictest policy fits it, and as a constant it costs nothing, where
# Django builds the page policy anew for every response (for its nonce).
NON_DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware(
    NonBlockingMiddlewareMixin, csp.ContentSecurityPolicyMiddleware
):
    async def aprocess_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/html"):
            return self.process_response(request, response)
        response.headers.setdefault("Content-Security-Policy", NON_DOCUMENT_CSP)
        return response


class AuthenticationMiddleware(chorus_server.AuthenticationMiddleware):
    """chorus's (Django's, its hook on the loop), with ``request.user`` and ``request.auser`` holding the request weakly.

    Django's loaders are closures over the request, stored on the request: every
    request is then a reference cycle that only the cyclic garbage collector
    frees. At hundreds of requests a second those cycles kept that collector
    running every few dozen requests, at about a tenth of the CPU
    (``bench/README.md``). With weak references a request is freed the moment
    its last reference goes. The one difference: a lazy user first evaluated
    after its request is gone raises ``ReferenceError`` instead of loading.
    """

    def process_request(self, request: HttpRequest) -> None:
        if not hasattr(request, "session"):
            super().process_request(request)  # Django's own error for a missing session
        request_ref = weakref.ref(request)
        request.user = SimpleLazyObject(partial(_user, request_ref))  # type: ignore[assignment]
        request.auser = partial(_auser, request_ref)  # type: ignore[attr-defined]


def _alive(request_ref: weakref.ref[HttpRequest]) -> HttpRequest:
    request = request_ref()
    if request is None:
        raise ReferenceError("request.user was first used after its request was gone")
    return request


def _user(request_ref: weakref.ref[HttpRequest]) -> Any:
    return auth.get_user(_alive(request_ref))


async def _auser(request_ref: weakref.ref[HttpRequest]) -> Any:
    return await auth.auser(_alive(request_ref))


class SessionMiddleware(NonBlockingMiddlewareMixin, sessions.SessionMiddleware):
    async def aprocess_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        session = getattr(request, "session", None)
        if session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST):
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


class MessageMiddleware(NonBlockingMiddlewareMixin, messages.MessageMiddleware):
    """Messages whose storage is made on first use: most requests (all of the API) never use it.

    Making it reads the messages cookie and sets up session storage on every
    request; an unused storage's ``update`` stores nothing, so skipping both is
    the same answer for less work.
    """

    def process_request(self, request: HttpRequest) -> None:
        # Held weakly, for the reason AuthenticationMiddleware gives.
        request_ref = weakref.ref(request)
        request._messages = SimpleLazyObject(partial(_storage, request_ref))  # type: ignore[attr-defined]

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not _messages_used(request):
            return response
        return super().process_response(request, response)

    async def aprocess_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not _messages_used(request):
            return response
        storage = request._messages  # type: ignore[attr-defined]
        if storage.used or storage.added_new:
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


def _storage(request_ref: weakref.ref[HttpRequest]) -> Any:
    request = request_ref()
    if request is None:
        raise ReferenceError("messages were first used after their request was gone")
    return default_storage(request)


def _messages_used(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and not (
        isinstance(storage, SimpleLazyObject) and storage._wrapped is empty  # type: ignore[attr-defined]
    )


class CsrfViewMiddleware(NonBlockingMiddlewareMixin, csrf.CsrfViewMiddleware):
    async def aprocess_view(
        self, request: HttpRequest, view: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponseBase | None:
        if request.content_type == "multipart/form-data" or settings.CSRF_USE_SESSIONS:
            assert self.sync_process_view is not None
            return await sync_to_async(self.sync_process_view)(request, view, args, kwargs)
        return await super().aprocess_view(request, view, args, kwargs)


class StaticFilesMiddleware(ServeStaticMiddleware):
    """ServeStatic, minus its DEBUG-mode error page for a missing file.

    With ``DEBUG`` on (the demo's default), ServeStatic raises for an unknown
    path under ``/static/``, which Django turns into a 500 page. A missing file
    is the client's 404: it falls through to the URL resolver and the JSON 404
    handler, in every mode. (Autorefresh is off in settings, so the file table
    is complete at start-up and the lookup is one dictionary get.)
    """

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await self.aserve(static_file, request)
        response: HttpResponseBase = await self.get_response(request)
        return response
