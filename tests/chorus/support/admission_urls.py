"""Views for the admission tests: each records that it started, then waits for the test."""

import asyncio
import time

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path


class Gate:
    """What the views saw, and the event that lets them finish (made in the test's loop)."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.opened = asyncio.Event()
        self.inside = 0
        self.most_inside = 0


gate = Gate()


async def held(request: HttpRequest) -> HttpResponse:
    gate.entered.append(request.GET.get("n", ""))
    await gate.opened.wait()
    return HttpResponse(b"done")


async def busy(request: HttpRequest) -> HttpResponse:
    """20 ms of CPU on the loop, as a handler that builds many rows would take."""
    until = time.perf_counter() + 0.02
    while time.perf_counter() < until:
        pass
    return HttpResponse(b"busy")


async def napping(request: HttpRequest) -> HttpResponse:
    """50 ms of waiting (an upstream call), almost no CPU."""
    gate.inside += 1
    gate.most_inside = max(gate.most_inside, gate.inside)
    await asyncio.sleep(0.05)
    gate.inside -= 1
    return HttpResponse(b"napped")


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
    path("busy/", busy),
    path("napping/", napping),
    path("plain/", plain),
    path("probe/", plain),
    path("stream/", stream),
]
