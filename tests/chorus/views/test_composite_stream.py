"""``Composite.as_stream_view()``: each source as it lands, then the summary, against the simulator."""

import asyncio

import pytest
from django.test import Client

import chorus
from chorus.server import ChorusASGIHandler
from tests.chorus.support.sse_wire import parse
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.streams_urls")

BOARD = ("inventory", "notifications", "analytics")


@pytest.fixture
def app():
    return ChorusASGIHandler()


async def test_sources_arrive_in_the_order_they_land_then_one_summary_closes_the_stream(
    app, upstreams
):
    # Declared inventory, notifications, analytics; landing in the opposite order.
    for name, latency in zip(BOARD, (450, 250, 50), strict=True):
        await upstreams.aset_fault(name, latency_ms=latency)
    response = await asgi_request(app, "/board/stream/")
    frames = parse(response.body)
    assert response.status == 200
    assert [f.event for f in frames] == ["source", "source", "source", "summary"]
    landed = [f.json() for f in frames[:3]]
    assert [s["name"] for s in landed] == ["analytics", "notifications", "inventory"]
    assert all(s["status"] == "ok" and s["http_status"] == 200 for s in landed)
    assert landed[2]["data"]["items"]
    assert landed[2]["ms"] >= 400
    summary = frames[3].json()
    assert list(summary["sources"]) == list(BOARD)
    assert summary["complete"] is True
    assert summary["data"]["inventory"] == landed[2]["data"]
    assert summary["elapsed_ms"] >= landed[2]["ms"]


async def test_a_failed_optional_source_is_its_own_event_and_the_stream_still_completes(
    app, upstreams
):
    await upstreams.aset_fault("analytics", status=503)
    frames = parse((await asgi_request(app, "/board/stream/")).body)
    by_name = {f.json()["name"]: f.json() for f in frames if f.event == "source"}
    assert by_name["analytics"]["status"] == "bad_status"
    assert by_name["analytics"]["data"] is None
    assert by_name["inventory"]["status"] == "ok"
    summary = frames[-1].json()
    assert frames[-1].event == "summary"
    assert summary["complete"] is False
    assert summary["sources"]["analytics"]["error"] == "upstream answered HTTP 503"


async def test_the_stream_and_the_plain_view_tell_the_same_story(app, upstreams):
    frames = parse((await asgi_request(app, "/board/stream/")).body)
    plain = (await asgi_request(app, "/board/")).json()
    summary = frames[-1].json()
    assert summary.keys() == plain.keys()
    assert summary["data"] == plain["data"]


async def test_a_client_leaving_mid_stream_cancels_the_upstream_calls_still_running(app, upstreams):
    await upstreams.aset_fault("analytics", latency_ms=10)
    for name in ("inventory", "notifications"):
        await upstreams.aset_fault(name, latency_ms=1500)
    # Gone after 1 s: analytics (10 ms) has answered even on a busy machine (at 0.3 s it
    # sometimes had not), and the other two (1.5 s) are still running.
    response = await asgi_request(app, "/board/stream/", disconnect_after=1.0)
    frames = parse(response.body)
    assert [f.json()["name"] for f in frames] == ["analytics"]
    for _ in range(50):
        services = (await upstreams.astats())["services"]
        if all(services[n]["disconnects"] == 1 for n in ("inventory", "notifications")):
            break
        await asyncio.sleep(0.05)
    for name in ("inventory", "notifications"):
        assert services[name]["disconnects"] == 1
        assert services[name]["in_flight"] == 0
    assert services["analytics"]["disconnects"] == 0


def test_under_wsgi_the_stream_view_is_refused_before_any_source_starts(upstreams):
    with pytest.raises(chorus.EventStreamUnavailableError):
        Client().get("/board/stream/")
    assert all(s["requests"] == 0 for s in upstreams.stats()["services"].values())
