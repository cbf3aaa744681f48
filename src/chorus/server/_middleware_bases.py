"""Middleware that runs on the event loop instead of hopping to a thread.

``DualModeMiddleware`` is the shape for new middleware: under ASGI the handler
sees a coroutine function (``markcoroutinefunction``) and awaits ``acall`` on
the event loop; under WSGI it calls ``call``. Subclasses write both, the async
one awaiting where the sync one blocks:

    class Hello(DualModeMiddleware):
        def call(self, request):
            return self.get_response(request)

        async def acall(self, request):
            return await self.get_response(request)

For Django's own and other ``MiddlewareMixin`` middleware, see below.

Django's ``MiddlewareMixin`` serves async requests by running every
``process_request`` / ``process_response`` through ``sync_to_async``, and the
handler wraps a sync ``process_view`` the same way: a thread hop per hook per
request, whether or not the hook does any I/O. Most hooks only read headers
and set attributes. ``NonBlockingMiddlewareMixin`` declares that: put it first
in the bases of a ``MiddlewareMixin`` middleware whose hooks never block, and
under ASGI they run inline on the event loop. A hook that sometimes does I/O
overrides its ``a``-prefixed twin and hops only then:

    class SessionMiddleware(NonBlockingMiddlewareMixin, sessions.SessionMiddleware):
        async def aprocess_response(self, request, response):
            if request.session.modified:  # saving touches the database
                return await sync_to_async(self.process_response)(request, response)
            return self.process_response(request, response)

Under WSGI nothing changes: Django calls the sync hooks as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from chorus.server._suspicious import exception_response

__all__ = ["DualModeMiddleware", "NonBlockingMiddlewareMixin"]

Handler = Callable[[HttpRequest], Any]


class DualModeMiddleware:
    """Async-native and sync-capable middleware: write ``call`` and ``acall``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response: Any = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        return self.acall(request) if self.async_mode else self.call(request)

    def call(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError

    async def acall(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError


class NonBlockingMiddlewareMixin:
    """Run a ``MiddlewareMixin``'s hooks inline under ASGI; see the module docstring."""

    get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]
    async_mode: bool
    sync_process_view: Callable[..., HttpResponseBase | None] | None = None
    # True once chorus's handler calls __acall__ without Django's wrapper around it.
    _answers_exceptions = False

    def __init__(self, get_response: Handler) -> None:
        super().__init__(get_response)  # type: ignore[call-arg]
        if self.async_mode and hasattr(self, "process_view"):
            # The handler adapts process_view by what it finds on the instance;
            # the sync hook stays reachable for the cases that must hop.
            self.sync_process_view = self.process_view
            setattr(self, "process_view", self.aprocess_view)  # noqa: B010
        # Per hook: absent (None), plain (called as is), or made async by a subclass
        # (awaited). A plain hook needs no coroutine per request.
        self._before, self._before_awaits = _hook(self, "process_request")
        self._after, self._after_awaits = _hook(self, "process_response")

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            response = None
            before = self._before
            if before is not None:
                response = before(request)
                if self._before_awaits:
                    response = await response
            response = response or await self.get_response(request)
            after = self._after
            if after is not None:
                response = after(request, response)
                if self._after_awaits:
                    response = await response
            return response
        except Exception as exc:
            # Under chorus's handler this layer has no wrapper of Django's to do it
            # (chorus.server._suspicious): the exception becomes its response here.
            if not self._answers_exceptions:
                raise
            return await exception_response(request, exc)

    def _chorus_answering_acall(
        self,
    ) -> Callable[[HttpRequest], Awaitable[HttpResponseBase]] | None:
        """For chorus's handler (``chorus.server._suspicious``), building its chain: this
        layer's coroutine, set to answer its own exceptions, unless a subclass replaced
        ``__acall__`` (which might not answer them)."""
        if not self.async_mode or type(self).__acall__ is not NonBlockingMiddlewareMixin.__acall__:
            return None
        self._answers_exceptions = True
        return self.__acall__

    async def aprocess_request(self, request: HttpRequest) -> HttpResponseBase | None:
        result: HttpResponseBase | None = self.process_request(request)  # type: ignore[attr-defined]
        return result

    async def aprocess_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        result: HttpResponseBase = self.process_response(request, response)  # type: ignore[attr-defined]
        return result

    async def aprocess_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        assert self.sync_process_view is not None
        return self.sync_process_view(request, view, args, kwargs)


def _hook(
    middleware: NonBlockingMiddlewareMixin, name: str
) -> tuple[Callable[..., Any] | None, bool]:
    """``middleware``'s ``name`` hook and whether it is awaited: its ``a``-prefixed twin
    when a subclass overrides that, else the plain hook, called inline."""
    if not hasattr(middleware, name):
        return None, False
    twin = f"a{name}"
    if getattr(type(middleware), twin) is not getattr(NonBlockingMiddlewareMixin, twin):
        return getattr(middleware, twin), True
    return getattr(middleware, name), False
