"""``DualModeMiddleware``: the async-native, sync-capable middleware shape, written once.

Under ASGI the handler sees a coroutine function (``markcoroutinefunction``)
and calls ``acall`` on the event loop with no thread hop; under WSGI (the sync
baseline) it calls ``call``. Subclasses write both, the async one awaiting
where the sync one blocks:

    class Hello(DualModeMiddleware):
        def call(self, request):
            return self.get_response(request)

        async def acall(self, request):
            return await self.get_response(request)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

__all__ = ["DualModeMiddleware"]


class DualModeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
    ) -> None:
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
