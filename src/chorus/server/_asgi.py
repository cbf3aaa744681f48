"""Chorus's ASGI application: Django's handler without its per-request thread hops.

Django's ``ASGIHandler`` spends a thread on every request, even one whose view
never touches the database: the sync receivers of ``request_started`` /
``request_finished`` (``reset_queries``, ``close_old_connections``,
``close_caches``) run through ``sync_to_async``, and so does
``response.close()``; inside the request's ``ThreadSensitiveContext`` the
first such call starts a fresh executor thread, and leaving the context joins
it. For an endpoint that only waits on upstreams, that thread is most of the
CPU a request costs.

``ChorusASGIHandler`` keeps Django's semantics and drops the hops that cannot
matter:

- ``request_started``: ``reset_queries`` and ``close_old_connections`` act on
  the connections of the thread they run in. In a fresh request context that
  thread would be a new one with no connections, so they are no-ops and are
  skipped. Receivers you connect still run: async ones inline, sync ones in
  the request's thread, as ``Signal.asend`` would.
- ``request_finished``: if the request ran thread-sensitive sync code (the
  sync ORM, ``sync_to_async``, a sync view or middleware), its executor
  thread exists and ``close_old_connections`` / ``reset_queries`` run there,
  in the thread that owns the connections. If it did not, there is nothing
  to close. ``close_caches`` runs only for cache backends that implement
  ``close``; ``reset_urlconf`` is cheap and runs inline.
- ``response.close()``: resource closers that are known no-ops (a request
  with no uploaded files) run inline; any other closer runs in a thread.
- A body that arrives in one message is wrapped in memory instead of a
  ``SpooledTemporaryFile``.
- A ``SuspiciousOperation`` (a bad ``Host``, …) is a 400 on the loop with one
  throttled WARNING line, not a thread hop and a traceback (``chorus.server._suspicious``).
- A response with a ``stream_to_asgi(send)`` coroutine (``chorus.streams.LiveStreamResponse``)
  is given ``send`` to write its body itself, instead of being iterated: a
  broadcast then writes to each viewer from the hub's task, with no wake-up
  of the viewer's own.

Before any of that, it applies ``CHORUS["REQUEST_LIMITS"]`` (``chorus.server._limits``)
to the scope: too many or too large headers are a 431, and a body over its
route's limit a 413, refused on its ``Content-Length`` before a byte of it is
read, or cut off as soon as a chunked body passes the limit. When a request
declares a body, ``CHORUS["BEFORE_BODY"]`` (the dotted path of an async
function) is shown the request without it: a response it returns is sent
instead, the body never read, so a stranger's upload costs only its headers.
Then the body is read, under a deadline (``BODY_TIMEOUT``, ``MIN_BODY_RATE``
after ``BODY_GRACE``: a 408 and the connection closed when it falls behind),
and only then does the request wait at the door if ``CHORUS["ADMISSION"]``
bounds how many are handled at once (``chorus.server._admission``).

Why the body is read before the door, not inside it or in a pool of its own:
the door bounds the work the worker does at once, and reading a body is not
work, it is waiting on the client. Admitted first, a request that sends ten
bytes of a thousand and holds still keeps its place for as long as it likes:
260 of them locked an API out of a worker (issue 25). A pool of body readers
of its own would only move the lock-out: the same stalled clients fill it, and
every honest POST waits behind them until the deadline. Read before the door,
a stalled body costs its socket, its task and its buffer (at most the route's
``MAX_BODY_BYTES``, in memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, on disk
past it), for at most the deadline, and nothing an admitted request needs;
how many there can be is bounded where sockets are (the server's connection
cap, e.g. storefront's ``STOREFRONT_MAX_CONNECTIONS``). What a pool would
have given, a signal that too many are being read, is ``SATURATED_BODY_READS``:
past it ``chorus.server.saturation()`` says so, for a readiness probe to take
the worker out of rotation. Whatever waits on the body, a request's fan-out
deadlines start once it is admitted, with its body in hand.

It also answers the ASGI lifespan protocol, which Django refuses: at shutdown
it runs the ``chorus.server.on_shutdown`` callbacks, then closes the loop's
transport (its pooled keep-alive connections to the upstreams) and the Redis
clients of shared breakers and caches, instead of leaving open sockets to the
garbage collector.

    # asgi.py
    from chorus.server import get_asgi_application
    application = get_asgi_application()
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import closing
from typing import IO, Any

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix, set_urlconf
from django.utils.log import log_response

from chorus.server import _suspicious as suspicious
from chorus.server._admission import Overloaded, admit, release_current
from chorus.server._disconnection import Disconnection
from chorus.server._lifespan import run_shutdown
from chorus.server._limits import BodyDeadline, timed_out, too_large
from chorus.server._refusals import OVERLOADED, refuse_scope, send_refusal
from chorus.server._request_body import (
    BodyTimeoutError,
    BodyTooLargeError,
    declares_body,
    may_wait_for_body,
    read_limited_body,
)
from chorus.server._request_id import CLIENT_CLOSED_REQUEST, log_before_django, logs_access
from chorus.server._request_signals import (
    close_connections_if_used,
    is_trivial_closer,
    run_closers,
    send_signal,
)
from chorus.server._settings import BeforeBody, get_server_settings
from chorus.server._sync_threads import lend_threads, release_thread
from chorus.server._tracing import note_route, serve_in_span, wants_server_span

__all__ = ["ChorusASGIHandler", "get_asgi_application"]

Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

_WRAPPER = "convert_exception_to_response"


class ChorusASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django wraps each layer with the name it imported into base; chorus's wrapper
        # answers SuspiciousOperation on the loop. Swapped only while the chain is built.
        django_wrapper = getattr(base, _WRAPPER)
        setattr(base, _WRAPPER, suspicious.convert_exception_to_response)
        try:
            super().load_middleware(is_async)
        finally:
            setattr(base, _WRAPPER, django_wrapper)
        # What this handler answers itself never reaches the middleware: it writes
        # those requests' access lines when the middleware would have written the others.
        self._logs_access = logs_access(settings.MIDDLEWARE)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Django's, logging a 4xx inline: only a 5xx's ERROR line can reach a blocking handler.

        Django logs every 4xx and 5xx through ``sync_to_async``, a thread hop per 404
        or 401, because ``mail_admins`` may send an email. That handler takes ERROR
        and above, which is what a 5xx logs; a 4xx logs a WARNING.
        """
        set_urlconf(settings.ROOT_URLCONF)
        chain = self._middleware_chain  # type: ignore[attr-defined]
        response: Any = await chain(request)
        note_route(request)
        response._resource_closers.append(request.close)
        status = response.status_code
        if status >= 500:
            await sync_to_async(log_response, thread_sensitive=False)(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        elif status >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        return response  # type: ignore[no-any-return]

    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if wants_server_span():  # tracing on: once more, inside the request's span
            await serve_in_span(self, scope, receive, send)
            return
        started = time.perf_counter()
        refusal = refuse_scope(scope)
        if refusal is not None:
            await send_refusal(send, refusal)
            self._log_answered_here(scope, refusal.status, started)
            return
        async with lend_threads():  # sync code on bounded threads (_sync_threads)
            try:
                body_file = await self._read_request(scope, receive, send)
            except BaseException:
                await close_connections_if_used()
                raise
            if isinstance(body_file, int):  # answered (BEFORE_BODY, 413, 408) or the client left
                await close_connections_if_used()
                self._log_answered_here(scope, body_file, started)
                return
            with closing(body_file):
                # The body in, the request waits at the door (CHORUS["ADMISSION"]) before
                # anything else costs this worker: a slow body never holds a place.
                try:
                    slot = await admit(get_server_settings().admission, scope["path"])
                except Overloaded as refused:  # a wait cut short at a standing queue
                    await close_connections_if_used()
                    await send_refusal(send, OVERLOADED, retry_after=refused.retry_after)
                    self._log_answered_here(scope, OVERLOADED.status, started)
                    return
                try:
                    try:
                        await self._respond(scope, receive, send, body_file)
                    finally:
                        await close_connections_if_used()
                finally:
                    if slot is not None:
                        slot.release()

    def _log_answered_here(self, scope: Mapping[str, Any], status: int, started: float) -> None:
        if self._logs_access:
            log_before_django(scope, status, started)

    async def handle(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        """Django's ``ASGIHandler.handle`` with the signal and close hops removed."""
        body_file = await self._read_request(scope, receive, send)
        if isinstance(body_file, int):
            return
        with closing(body_file):
            await self._respond(scope, receive, send, body_file)

    async def _read_request(
        self, scope: Mapping[str, Any], receive: Receive, send: Send
    ) -> IO[bytes] | int:
        """The request's body, read under its limit and deadline, or the status it was answered.

        ``BEFORE_BODY`` is shown the request first; then the body is read up to its
        route's limit (413 past it) and within ``REQUEST_LIMITS``' deadline (408
        when it falls behind). 499 (nginx's "client closed request") when the client
        left before its body was in.
        """
        chorus_settings = get_server_settings()
        if chorus_settings.before_body is not None and declares_body(scope):
            set_script_prefix(get_script_prefix(scope))
            refused = await self._decide_before_body(scope, chorus_settings.before_body)
            if refused is not None:
                refused["Connection"] = "close"  # the body stays unread: end the connection
                # Sent as is: no request_finished for a request that never started.
                await self.send_response(refused, send)
                return refused.status_code
        limits = chorus_settings.request_limits
        # No deadline where nothing can be late: it would cost every GET a timer.
        deadline = limits.body_deadline if may_wait_for_body(scope) else None
        try:
            return await self.read_limited_body(receive, limits.body_limit(scope["path"]), deadline)
        except RequestAborted:
            return CLIENT_CLOSED_REQUEST
        except BodyTooLargeError as refused_body:
            refusal = too_large(refused_body.limit)
        except BodyTimeoutError as late:
            refusal = timed_out(late.deadline)
        await send_refusal(send, refusal)
        return refusal.status

    async def _respond(
        self, scope: Mapping[str, Any], receive: Receive, send: Send, body_file: IO[bytes]
    ) -> None:
        """The rest of ``handle``, the body read: the request through Django, answered."""
        set_script_prefix(get_script_prefix(scope))
        await send_signal(signals.request_started, self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None
            await self.send_response(error_response, send)
            await self._close_response(error_response)
            return
        response = None
        with Disconnection(self.listen_for_disconnect(receive)) as disconnection:
            try:
                response = await self.run_get_response(request)
                if response.streaming:
                    release_current()  # a stream may stay open for hours
                    await close_connections_if_used()
                    release_thread()  # and must not keep a thread it no longer uses
                await self.send_response(response, send)
            except asyncio.CancelledError:
                if not disconnection.ended_the_request():
                    raise
        if response is None:
            await send_signal(signals.request_finished, self.__class__)
        else:
            await self._close_response(response)

    async def _decide_before_body(
        self, scope: Mapping[str, Any], before_body: BeforeBody
    ) -> HttpResponseBase | None:
        """``CHORUS["BEFORE_BODY"]``'s verdict on the request, shown without its body."""
        request, error_response = self.create_request(scope, io.BytesIO())
        if request is None:
            return error_response
        try:
            return await before_body(request)
        finally:
            request.close()

    async def read_body(self, receive: Receive) -> IO[bytes]:
        return await self.read_limited_body(receive, None)

    async def read_limited_body(
        self, receive: Receive, limit: int | None, deadline: BodyDeadline | None = None
    ) -> IO[bytes]:
        """Django's ``read_body``, in memory when it comes in one message, cut at ``limit``,
        and ended when it falls behind ``deadline``."""
        return await read_limited_body(receive, limit, deadline)

    async def send_response(self, response: HttpResponseBase, send: Send) -> None:
        stream_to_asgi = getattr(response, "stream_to_asgi", None)
        if stream_to_asgi is None:
            await super().send_response(response, send)
            return
        headers = [
            (str(name).encode("ascii"), str(value).encode("latin1"))
            for name, value in response.items()
        ]
        headers += [
            (b"Set-Cookie", cookie.OutputString().encode("ascii"))
            for cookie in response.cookies.values()
        ]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await stream_to_asgi(send)
        await send({"type": "http.response.body"})

    async def _close_response(self, response: HttpResponseBase) -> None:
        """``response.close()``, with its closers inline when they are known no-ops."""
        closers = response._resource_closers  # type: ignore[attr-defined]
        if all(is_trivial_closer(closer) for closer in closers):
            run_closers(closers)
        else:
            await sync_to_async(run_closers, thread_sensitive=True)(closers)
        response.closed = True
        await send_signal(signals.request_finished, self.__class__)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await run_shutdown()
                except Exception as error:
                    # The server logs the message; the process is going away either way.
                    reason = f"shutdown failed: {type(error).__name__}"
                    await send({"type": "lifespan.shutdown.failed", "message": reason})
                    raise
                await send({"type": "lifespan.shutdown.complete"})
                return


def get_asgi_application() -> ChorusASGIHandler:
    """Set Django up and return chorus's ASGI handler (use in place of Django's)."""
    django.setup(set_prefix=False)
    return ChorusASGIHandler()
