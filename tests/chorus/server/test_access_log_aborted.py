"""A request its client abandons still leaves its one access line, with status 499.

499 is nginx's "client closed request". Django cancels the view when the client
disconnects; without a line for it, a log shows no trace of requests that cost
the worker time (issue 25, point 8). Driven in-process through the real
``ChorusASGIHandler``, with the client's ``http.disconnect`` sent mid-request.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls(__name__)

views_cancelled: list[str] = []


async def slow(request: HttpRequest) -> HttpResponse:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        views_cancelled.append(request.path)
        raise
    return HttpResponse(b"late")


async def quick(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"quick")


urlpatterns = [path("slow/", slow), path("quick/", quick)]


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "chorus.request"]


async def test_a_request_the_client_leaves_is_logged_once_as_499(caplog, chorus_app):
    views_cancelled.clear()
    with caplog.at_level(logging.INFO, logger="chorus.request"):
        async with asyncio.timeout(5):
            response = await asgi_request(
                chorus_app, "/slow/", headers={"X-Request-ID": "gone-1"}, disconnect_after=0.1
            )
    assert response.status is None  # the client left before any answer
    assert views_cancelled == ["/slow/"]
    records = _access_records(caplog)
    assert len(records) == 1
    line = records[0].getMessage()
    assert line.startswith("method=GET path=/slow/ status=499 duration_ms=")
    assert line.endswith("request_id=gone-1")
    assert records[0].http_status == 499  # type: ignore[attr-defined]
    assert records[0].duration_ms >= 100  # type: ignore[attr-defined]


async def test_an_answered_request_is_still_logged_with_its_own_status(caplog, chorus_app):
    with caplog.at_level(logging.INFO, logger="chorus.request"):
        response = await asgi_request(chorus_app, "/quick/", disconnect_after=0.5)
    assert response.status == 200
    assert [r.getMessage().split()[2] for r in _access_records(caplog)] == ["status=200"]


def _scope(path: str) -> dict[str, object]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def test_a_request_the_server_cancels_stays_cancelled_though_the_client_is_there(chorus_app):
    views_cancelled.clear()
    staying = asyncio.Event()  # the client never leaves

    async def receive():
        if not staying.is_set():
            staying.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("not reached")

    async def send(message):
        pass

    handling = asyncio.create_task(chorus_app(_scope("/slow/"), receive, send))
    await asyncio.sleep(0.1)
    handling.cancel()  # a server shutting down, say
    with pytest.raises(asyncio.CancelledError):
        await handling
    assert views_cancelled == ["/slow/"]


async def test_a_message_other_than_a_disconnect_ends_the_request_with_djangos_error(chorus_app):
    sent_body = False

    async def receive():
        nonlocal sent_body
        if sent_body:
            await asyncio.sleep(0.05)
        sent_body = True
        return {"type": "http.request", "body": b"", "more_body": False}  # again: invalid

    async def send(message):
        pass

    with pytest.raises(AssertionError, match="Invalid ASGI message"):
        await asyncio.wait_for(chorus_app(_scope("/slow/"), receive, send), 5)
