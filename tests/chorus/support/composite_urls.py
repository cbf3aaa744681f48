"""Composites declared every way the docs allow, for tests/chorus/views/test_composite.py."""

import asyncio
from typing import ClassVar

from django.urls import path

import chorus


async def shout(word):
    await asyncio.sleep(0)
    return word.upper()


class Item(chorus.Composite):
    deadline = 1.0
    sources: ClassVar = {
        "item": lambda request, sku: chorus.call(
            "inventory", "/items/{sku}", path_params={"sku": sku}
        ),
        "shout": chorus.source(lambda request, sku: shout(sku), required=False),
        "users": chorus.call("users", "/summary"),
    }


class Reshaped(chorus.Composite):
    sources: ClassVar = {"users": chorus.call("users", "/summary")}

    def render(self, result):
        response = result.response()
        response["X-Sources"] = ",".join(result.sources)
        return response


urlpatterns = [
    path("items/<str:sku>/", Item.as_view()),
    path("items/<str:sku>/stream/", Item.as_stream_view()),
    path("reshaped/", Reshaped.as_view()),
    path("quick/", chorus.Composite.as_view(sources={"u": chorus.call("users", "/summary")})),
    path(
        "probe/stream/", chorus.Composite.as_stream_view(sources={"svc": chorus.call("svc", "/a")})
    ),
]
