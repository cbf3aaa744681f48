"""``RouteMetricsMiddleware`` and the streams gauge through chorus's real ASGI handler:
series are labelled by route pattern, never by path."""

from __future__ import annotations

import asyncio

import pytest

from chorus.server import ChorusASGIHandler
from tests.chorus.engine.test_metrics import sample
from tests.fixtures.asgi import asgi_request

ROUTE_COUNT = "chorus_http_request_duration_seconds_count"
RESPONSES = "chorus_http_responses_total"


@pytest.fixture
def app(settings):
    settings.ROOT_URLCONF = "tests.chorus.support.metrics_urls"
    settings.MIDDLEWARE = [
        "chorus.server.RequestIDMiddleware",
        "chorus.server.RouteMetricsMiddleware",
    ]
    settings.CHORUS = {}
    return ChorusASGIHandler()


async def test_requests_are_labelled_by_route_pattern_not_path(app):
    route = "/items/<int:pk>/"
    before_ok = sample(RESPONSES, route=route, status="200")
    before_missing = sample(RESPONSES, route=route, status="404")
    before_timed = sample(ROUTE_COUNT, route=route)
    for pk in (1, 2, 3, 4000):
        await asgi_request(app, f"/items/{pk}/")
    assert sample(RESPONSES, route=route, status="200") == before_ok + 3
    assert sample(RESPONSES, route=route, status="404") == before_missing + 1
    assert sample(ROUTE_COUNT, route=route) == before_timed + 4
    assert sample(RESPONSES, route="/items/1/", status="200") == 0


async def test_an_unknown_path_is_unmatched(app):
    before = sample(RESPONSES, route="unmatched", status="404")
    for path in ("/nope/", "/wp-admin.php", "/items/x/"):
        assert (await asgi_request(app, path)).status == 404
    assert sample(RESPONSES, route="unmatched", status="404") == before + 3


async def test_off_records_nothing(app, settings):
    settings.CHORUS = {"METRICS": False}
    before = sample(ROUTE_COUNT, route="/items/<int:pk>/")
    await asgi_request(app, "/items/1/")
    assert sample(ROUTE_COUNT, route="/items/<int:pk>/") == before


async def test_an_open_event_stream_is_counted_until_the_client_goes(app):
    labels = {"route": "/ticks/", "transport": "sse"}
    stream = asyncio.create_task(asgi_request(app, "/ticks/", disconnect_after=0.3))
    for _ in range(200):
        if sample("chorus_streams_open", **labels) == 1:
            break
        await asyncio.sleep(0.005)
    assert sample("chorus_streams_open", **labels) == 1
    response = await stream
    assert b"event: tick" in response.body
    assert sample("chorus_streams_open", **labels) == 0
