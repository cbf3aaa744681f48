"""Django's per-request housekeeping (signals, closers) without a thread hop each.

Django's ``ASGIHandler`` sends ``request_started`` / ``request_finished`` with
``Signal.asend``, which runs every sync receiver through ``sync_to_async``, and
closes a response's resources the same way: a thread hop per request even when
every receiver is a no-op for it. Here Django's own receivers are handled as
``chorus.server._asgi``'s docstring explains (connection housekeeping only in the
thread that owns the connections, ``close_caches`` only for backends that close,
``reset_urlconf`` inline), known no-op closers run inline, and receivers you
connect run as ``Signal.asend`` would run them.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.cache import caches, close_caches
from django.core.cache.backends.base import BaseCache
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import reset_urlconf
from django.core.signals import setting_changed
from django.db import close_old_connections, reset_queries
from django.dispatch import Signal, dispatcher, receiver
from django.http import HttpRequest
from django.utils.module_loading import import_string

from chorus.server._sync_threads import request_executor

__all__ = ["close_connections_if_used", "is_trivial_closer", "run_closers", "send_signal"]

# Django's own receivers, handled in this module rather than through a thread hop.
_CONNECTION_HOUSEKEEPING = (reset_queries, close_old_connections)
_HANDLED_HERE = frozenset({reset_queries, close_old_connections, close_caches, reset_urlconf})


# How Signal.asend runs async receivers differs by Django version, and send_signal
# does as the installed one does. Django 6.1 runs them in a TaskGroup that shares the
# caller's context (a receiver of request_started can set a ContextVar the view then
# sees) and cancels the others when one fails: its dispatcher._run_parallel, used here.
# Django 5.2 and 6.0 gather them, each in a copy of the context.
_run_parallel: Callable[..., Awaitable[list[Any]]] | None = getattr(
    dispatcher, "_run_parallel", None
)


def is_trivial_closer(closer: Callable[[], object]) -> bool:
    """A request's own ``close()`` when it holds no uploaded files and its body is in memory."""
    owner = getattr(closer, "__self__", None)
    if not isinstance(owner, HttpRequest) or hasattr(owner, "_files"):
        return False
    method = getattr(closer, "__func__", None)
    if method is HttpRequest.close:
        return True
    return method is ASGIRequest.close and isinstance(owner._stream, io.BytesIO)


def run_closers(closers: list[Callable[[], object]]) -> None:
    for closer in closers:
        with suppress(Exception):  # as in Django's own close(): one failing closer stops none
            closer()
    closers.clear()


async def send_signal(signal: Signal, sender: type, **named: Any) -> None:
    """``signal.asend`` for every receiver but Django's own, which are handled in this module."""
    sync_receivers, async_receivers = signal._live_receivers(sender)
    pending = [receiver for receiver in sync_receivers if receiver not in _HANDLED_HERE]
    if signal is signals.request_finished:
        reset_urlconf(sender=sender)
        if close_caches in sync_receivers and _caches_need_closing():
            pending.append(close_caches)

    def run_sync() -> None:
        for hook in pending:
            hook(signal=signal, sender=sender, **named)

    if pending:
        await sync_to_async(run_sync, thread_sensitive=True)()
    if async_receivers:
        coroutines = (r(signal=signal, sender=sender, **named) for r in async_receivers)
        if _run_parallel is not None:
            await _run_parallel(*coroutines)
        else:
            await asyncio.gather(*coroutines)


def _caches_need_closing() -> bool:
    return _a_cache_backend_closes() and any(
        type(cache).close is not BaseCache.close for cache in caches.all(initialized_only=True)
    )


@functools.cache
def _a_cache_backend_closes() -> bool:
    """Whether a backend in ``CACHES`` has a ``close()`` of its own (Django's memcached
    ones do; locmem, database, file and Redis do not): if none has, no request needs to
    look at its caches. A backend that cannot be imported counts as one that closes."""
    for cache in settings.CACHES.values():
        try:
            backend = import_string(cache["BACKEND"])
        except ImportError:
            return True  # Django raises its own error when the cache is used
        if backend.close is not BaseCache.close:
            return True
    return False


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **_: Any) -> None:
    if setting == "CACHES":
        _a_cache_backend_closes.cache_clear()


async def close_connections_if_used() -> None:
    """Django's end-of-request connection housekeeping, in the thread that owns them."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is None or context not in SyncToAsync.context_to_thread_executor:
        return  # no thread-sensitive code ran: no connections were opened for this request
    executor = request_executor()
    if executor is not None and not executor.holds_thread:
        return  # none since its thread went back, with its connections closed

    def housekeeping() -> None:
        for hook in _CONNECTION_HOUSEKEEPING:
            hook()

    await sync_to_async(housekeeping, thread_sensitive=True)()
