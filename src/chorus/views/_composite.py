"""``Composite``: a declarative fan-out endpoint, turned into an async view.

    class Dashboard(chorus.Composite):
        deadline = 1.0
        sources = {
            "inventory": chorus.call("inventory", "/stock"),
            "analytics": chorus.call("analytics", "/summary", required=False),
            "item": lambda request, sku: chorus.call(
                "inventory", "/items/{sku}", path_params={"sku": sku}
            ),
            "orders": chorus.source(count_todays_orders, required=False),
        }

    urlpatterns = [
        path("api/dashboard/", Dashboard.as_view()),
        path("api/dashboard/stream/", Dashboard.as_stream_view()),
    ]

A source is a ``Call``; a ``source()`` wrapping an awaitable factory; or any
callable, given the request and the URL's keyword arguments, returning a
``Call``, a ``Source`` or an awaitable. Factories run per request, so every
request gets fresh coroutines.

``as_stream_view()`` answers with Server-Sent Events instead: one ``source``
event per source the moment it completes (its ``sources`` entry plus ``name``
and ``data``), then one ``summary`` event carrying the whole envelope. The
stream's HTTP status is always 200 (it is sent before any source answers);
the summary's ``sources`` say what failed.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any, ClassVar, cast

import orjson
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views import View

from chorus.engine._call import DEFAULT, Call, Default
from chorus.engine._exceptions import UnsafeRequestError
from chorus.engine._fanout import Fanout, Source, SourceSpec
from chorus.engine._results import Result, SourceResult
from chorus.streams._sse import DEFAULT_HEARTBEAT, Event, EventStreamResponse
from chorus.views._blueprint import SourceDeclaration, build_source, planned_sources

__all__ = ["Composite"]


def _check_declarations(view: str, sources: Mapping[str, SourceDeclaration]) -> None:
    """Refuse, when the view is declared, a source that could serve only one request.

    A coroutine (or any awaitable) can be awaited once: declared on a view, the
    first request would use it up and every later one fail. Both the bare
    awaitable and one wrapped in ``chorus.source()`` are refused.
    """
    for name, declared in sources.items():
        target = declared.target if isinstance(declared, Source) else declared
        if inspect.isawaitable(target):
            if inspect.iscoroutine(target):
                target.close()  # it will never run: no "never awaited" warning
            raise TypeError(
                f"{view}.sources[{name!r}] is an awaitable, which can run only once, "
                "but a view serves many requests: declare a factory instead, e.g. "
                f"chorus.source(count_orders) or lambda request: count_orders()"
            )
        if not isinstance(declared, Call | Source) and not callable(declared):
            raise TypeError(
                f"{view}.sources[{name!r}] must be a chorus.call(), a chorus.source() "
                f"or a factory taking the request; got {type(declared).__name__}"
            )


class Composite(View):
    """An async view answering with the envelope of its ``sources`` gathered under ``deadline``."""

    sources: ClassVar[Mapping[str, SourceDeclaration]] = {}
    deadline: float | Default | None = DEFAULT
    fail_fast: bool = True
    streaming: bool = False
    heartbeat: float | None = DEFAULT_HEARTBEAT
    http_method_names: ClassVar[list[str]] = ["get", "head", "options"]  # type: ignore[misc]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_declarations(cls.__name__, cls.sources)

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        sources = initkwargs.get("sources", cls.sources)
        _check_declarations(cls.__name__, sources)
        if not sources:
            raise TypeError(f"{cls.__name__} declares no sources")
        return super().as_view(**initkwargs)

    @classmethod
    def as_stream_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        """The same fan-out as a Server-Sent Events stream (needs an ASGI server).

        path("api/dashboard/stream/", Dashboard.as_stream_view())
        """
        return cls.as_view(**{**initkwargs, "streaming": True})

    def build_sources(self, request: HttpRequest, **kwargs: Any) -> dict[str, SourceSpec]:
        """This request's sources: declarations with their factories called."""
        return {
            name: build_source(declared, request, kwargs) for name, declared in self.sources.items()
        }

    def fanout(self, request: HttpRequest, **kwargs: Any) -> Fanout:
        if type(self).build_sources is not Composite.build_sources:
            # A subclass builds its own sources: plan whatever it builds, every time.
            return Fanout(
                self.build_sources(request, **kwargs),
                deadline=self.deadline,
                request=request,
                fail_fast=self.fail_fast,
            )
        plans, settings = planned_sources(self.sources, request, kwargs)
        deadline = (
            settings.default_deadline if isinstance(self.deadline, Default) else self.deadline
        )
        return Fanout.planned(plans, deadline=deadline, request=request, fail_fast=self.fail_fast)

    def render(self, result: Result) -> HttpResponse:
        """Turn the result into the response; override to reshape the envelope."""
        return result.response()

    def source_event(self, landed: SourceResult) -> Event:
        """The ``source`` event for one completed source; override to reshape it."""
        return Event(
            event="source", data={"name": landed.name, **landed.as_dict(), "data": landed.data}
        )

    def summary_event(self, result: Result) -> Event:
        """The closing ``summary`` event; override to reshape it."""
        return Event(event="summary", data=result.as_dict())

    async def events(self, request: HttpRequest, **kwargs: Any) -> AsyncIterator[Event]:
        """This request's stream: each source as it lands, then the summary."""
        try:
            fanout = self.fanout(request, **kwargs)
        except UnsafeRequestError as error:
            yield Event(event="error", data={"code": "unsafe_request", "message": error.reason})
            return
        # Closing the fan-out's iterator cancels and awaits its sources, when the
        # client goes away before all of them have landed.
        landing = cast("AsyncGenerator[SourceResult]", aiter(fanout))  # __aiter__ is one
        async with aclosing(landing) as landed:
            async for each in landed:
                yield self.source_event(each)
        yield self.summary_event(fanout.result())

    def reject(self, error: UnsafeRequestError) -> HttpResponseBase:
        """The answer when a request value would steer a call off its upstream: a 400."""
        body = {"error": {"code": "unsafe_request", "message": error.reason}}
        return HttpResponse(orjson.dumps(body), status=400, content_type="application/json")

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if self.streaming:
            # The generator builds the sources when the stream starts, so a refused
            # (WSGI) request never creates coroutines that would go unawaited.
            return EventStreamResponse(
                request, self.events(request, **kwargs), heartbeat=self.heartbeat
            )
        try:
            fanout = self.fanout(request, **kwargs)
        except UnsafeRequestError as error:
            return self.reject(error)
        return self.render(await fanout.run())

    async def head(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Defined, so that View.setup does not store ``self.head = self.get``: a bound
        # method on its own instance is a reference cycle, which would leave every
        # request (the view holds it) to the cyclic garbage collector.
        return await self.get(request, *args, **kwargs)
