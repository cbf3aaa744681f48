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

    urlpatterns = [path("api/dashboard/", Dashboard.as_view())]

A source is a ``Call``; a ``source()`` wrapping an awaitable factory; or any
callable, given the request and the URL's keyword arguments, returning a
``Call``, a ``Source`` or an awaitable. Factories run per request, so every
request gets fresh coroutines.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.views import View

from chorus.fanout import Fanout, Source, SourceSpec
from chorus.results import Result
from chorus.upstream import DEFAULT, Call, _Default

__all__ = ["Composite"]

SourceDeclaration = Call | Source | Callable[..., Any]


class Composite(View):
    """An async view answering with the envelope of its ``sources`` gathered under ``deadline``."""

    sources: ClassVar[Mapping[str, SourceDeclaration]] = {}
    deadline: float | _Default | None = DEFAULT
    fail_fast: bool = True
    http_method_names: ClassVar[list[str]] = ["get", "head", "options"]  # type: ignore[misc]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        sources = initkwargs.get("sources", cls.sources)
        for name, declared in sources.items():
            if inspect.isawaitable(declared):
                raise TypeError(
                    f"source {name!r} is an awaitable, which can run only once; "
                    "declare a factory (a callable taking the request) instead"
                )
        if not sources:
            raise TypeError(f"{cls.__name__} declares no sources")
        return super().as_view(**initkwargs)

    def build_sources(self, request: HttpRequest, **kwargs: Any) -> dict[str, SourceSpec]:
        """This request's sources: declarations with their factories called."""
        built: dict[str, SourceSpec] = {}
        for name, declared in self.sources.items():
            if isinstance(declared, Call):
                built[name] = declared
            elif isinstance(declared, Source):
                target = declared.target
                if callable(target) and not inspect.isawaitable(target):
                    target = target(request, **kwargs)
                built[name] = replace(declared, target=target)
            else:
                product = declared(request, **kwargs)
                built[name] = product
        return built

    def fanout(self, request: HttpRequest, **kwargs: Any) -> Fanout:
        return Fanout(
            self.build_sources(request, **kwargs),
            deadline=self.deadline,
            request=request,
            fail_fast=self.fail_fast,
        )

    def render(self, result: Result) -> HttpResponse:
        """Turn the result into the response; override to reshape the envelope."""
        return result.response()

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render(await self.fanout(request, **kwargs).run())
