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
