"""Views for the admission tests: each records that it started, then waits for the test."""

import asyncio

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path


class Gate:
    """What the views saw, and the event that lets them finish (made in the test's loop)."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.opened = asyncio.Event()


gate = Gate()


async def held(request: HttpRequest) -> HttpResponse:
    gate.entered.append(request.GET.get("n", ""))
    await gate.opened.wait()
    return HttpResponse(b"done")


async def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"plain")


async def stream(request: HttpRequest) -> StreamingHttpResponse:
    async def parts():  # type: ignore[no-untyped-def]
        yield b"first,"
        await gate.opened.wait()
        yield b"last"

    return StreamingHttpResponse(parts())


urlpatterns = [
    path("held/", held),
    path("plain/", plain),
    path("probe/", plain),
    path("stream/", stream),
]
