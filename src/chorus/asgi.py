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

It also answers the ASGI lifespan protocol, which Django refuses: at shutdown
it runs the ``chorus.on_shutdown`` callbacks, then closes the loop's
transport (its pooled keep-alive connections to the upstreams) and the Redis
clients of shared breakers and caches, instead of leaving open sockets to the
garbage collector.

    # asgi.py
    from chorus.asgi import get_asgi_application
    application = get_asgi_application()
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Mapping
from contextlib import closing, suppress
from typing import IO, Any

import django
from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, ASGIRequest, get_script_prefix
from django.core.handlers.base import reset_urlconf
from django.db import close_old_connections, reset_queries
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix

from chorus.lifespan import run_shutdown

__all__ = ["ChorusASGIHandler", "get_asgi_application"]

Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

# Django's own receivers, handled below rather than through a thread hop.
_CONNECTION_HOUSEKEEPING = (reset_queries, close_old_connections)
_HANDLED_HERE = frozenset({reset_queries, close_old_connections, close_caches, reset_urlconf})


class ChorusASGIHandler(ASGIHandler):
    async def __call__(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with ThreadSensitiveContext():
            try:
                await self.handle(scope, receive, send)
            finally:
                await _close_connections_if_used()

    async def handle(self, scope: Mapping[str, Any], receive: Receive, send: Send) -> None:
        """Django's ``ASGIHandler.handle`` with the signal and close hops removed."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            await _send_signal(signals.request_started, self.__class__, scope=scope)
            request, error_response = self.create_request(scope, body_file)
            if request is None:
                assert error_response is not None
                await self.send_response(error_response, send)
                await self._close_response(error_response)
                return
            response = None
            try:
                try:
                    async with asyncio.TaskGroup() as group:
                        listener = group.create_task(self.listen_for_disconnect(receive))
                        response = await self.run_get_response(request)
                        await self.send_response(response, send)
                        # Django raises an exception here to end the group; cancelling the
                        # listener ends it as well without building an exception group.
                        listener.cancel()
                except* RequestAborted:
                    pass
            except BaseExceptionGroup as group_error:
                if len(group_error.exceptions) == 1:
                    raise group_error.exceptions[0] from None
                raise
            if response is None:
                await _send_signal(signals.request_finished, self.__class__)
            else:
                await self._close_response(response)

    async def read_body(self, receive: Receive) -> IO[bytes]:
        first = await receive()
        if first["type"] == "http.request" and not first.get("more_body", False):
            return io.BytesIO(first.get("body", b""))
        replayed = False

        async def replay() -> Mapping[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return first

        body: IO[bytes] = await super().read_body(replay)
        return body

    async def _close_response(self, response: HttpResponseBase) -> None:
        """``response.close()``, with its closers inline when they are known no-ops."""
        closers = response._resource_closers  # type: ignore[attr-defined]
        if all(_is_trivial_closer(closer) for closer in closers):
            _run_closers(closers)
        else:
            await sync_to_async(_run_closers, thread_sensitive=True)(closers)
        response.closed = True
        await _send_signal(signals.request_finished, self.__class__)

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


def _is_trivial_closer(closer: Callable[[], object]) -> bool:
    """A request's own ``close()`` when it holds no uploaded files and its body is in memory."""
    owner = getattr(closer, "__self__", None)
    if not isinstance(owner, HttpRequest) or hasattr(owner, "_files"):
        return False
    method = getattr(closer, "__func__", None)
    if method is HttpRequest.close:
        return True
    return method is ASGIRequest.close and isinstance(owner._stream, io.BytesIO)


def _run_closers(closers: list[Callable[[], object]]) -> None:
    for closer in closers:
        with suppress(Exception):  # as in Django's own close(): one failing closer stops none
            closer()
    closers.clear()


async def _send_signal(signal: Signal, sender: type, **named: Any) -> None:
    """``signal.asend`` for every receiver but Django's own, which are handled in this module."""
    sync_receivers, async_receivers = signal._live_receivers(sender)
    pending = [receiver for receiver in sync_receivers if receiver not in _HANDLED_HERE]
    if signal is signals.request_finished:
        reset_urlconf(sender=sender)
        if close_caches in sync_receivers and _caches_need_closing():
            pending.append(close_caches)

    def run_sync() -> None:
        for receiver in pending:
            receiver(signal=signal, sender=sender, **named)

    if pending:
        await sync_to_async(run_sync, thread_sensitive=True)()
    if async_receivers:
        await asyncio.gather(*(r(signal=signal, sender=sender, **named) for r in async_receivers))


def _caches_need_closing() -> bool:
    return any(
        type(cache).close is not BaseCache.close for cache in caches.all(initialized_only=True)
    )


async def _close_connections_if_used() -> None:
    """Django's end-of-request connection housekeeping, in the thread that owns them."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is None or context not in SyncToAsync.context_to_thread_executor:
        return  # no thread-sensitive code ran: no connections were opened for this request

    def housekeeping() -> None:
        for receiver in _CONNECTION_HOUSEKEEPING:
            receiver()

    await sync_to_async(housekeeping, thread_sensitive=True)()


def get_asgi_application() -> ChorusASGIHandler:
    """Set Django up and return chorus's ASGI handler (use in place of Django's)."""
    django.setup(set_prefix=False)
    return ChorusASGIHandler()
