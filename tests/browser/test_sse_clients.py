"""The streams read over real TCP from uvicorn by an independent SSE client (httpx-sse)."""

import time

import httpx
import orjson
from httpx_sse import connect_sse

SLOW = ("inventory", "notifications")
UPSTREAMS = ("inventory", "notifications", "analytics")


def read_events(url, api_headers, **kwargs):
    with (
        httpx.Client(trust_env=False, timeout=10, headers=api_headers) as client,
        connect_sse(client, "GET", url, **kwargs) as source,
    ):
        return source.response, list(source.iter_sse())


def test_the_dashboard_stream_delivers_each_source_as_it_lands(storefront, simulator, api_headers):
    simulator.set_fault("inventory", latency_ms=450)
    simulator.set_fault("analytics", latency_ms=0)
    arrivals = {}
    with (
        httpx.Client(trust_env=False, timeout=10, headers=api_headers) as client,
        connect_sse(client, "GET", f"{storefront}/api/dashboard/stream/") as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        assert source.response.headers["cache-control"] == "no-cache"
        assert source.response.headers["x-accel-buffering"] == "no"
        events = []
        for event in source.iter_sse():
            events.append(event)
            name = event.json()["name"] if event.event == "source" else event.event
            arrivals[name] = time.monotonic()
    assert events[-1].event == "summary"
    assert {e.event for e in events[:-1]} == {"source"}
    # The dashboard may have sources besides the three upstreams (an ORM query, say).
    names = [e.json()["name"] for e in events[:-1] if e.json()["name"] in UPSTREAMS]
    assert names == ["analytics", "notifications", "inventory"]
    # analytics reached the client while inventory was still being waited for
    assert arrivals["inventory"] - arrivals["analytics"] > 0.1  # nominally 0.45 s
    summary = events[-1].json()
    assert summary["complete"] is True
    assert summary["sources"]["inventory"]["ms"] >= 450


def test_events_resume_after_last_event_id_over_the_wire(storefront, api_headers):
    response, events = read_events(
        f"{storefront}/api/events/?interval=0.02", api_headers, headers={"Last-Event-ID": "5"}
    )
    assert response.status_code == 200
    assert [e.id for e in events] == ["6", "7", "8", "9"]
    assert [e.json()["step"] for e in events] == [6, 7, 8, 9]
    assert events[0].retry == 500


def test_all_ten_steps_with_their_ids(storefront, api_headers):
    _, events = read_events(f"{storefront}/api/events/?interval=0.02", api_headers)
    assert [e.id for e in events] == [str(n) for n in range(10)]
    assert {e.event for e in events} == {"step"}


def test_a_client_leaving_mid_stream_cancels_the_slow_upstream_calls(
    storefront, simulator, api_headers
):
    for name in SLOW:
        simulator.set_fault(name, latency_ms=1500)
    simulator.set_fault("analytics", latency_ms=10)
    with (
        httpx.Client(trust_env=False, timeout=10, headers=api_headers) as client,
        connect_sse(client, "GET", f"{storefront}/api/dashboard/stream/") as source,
    ):
        landed = (orjson.loads(event.data)["name"] for event in source.iter_sse())
        assert "analytics" in landed  # arrives once analytics has, the slow two still pending
    # The block closed the connection while inventory and notifications were still waiting.
    deadline = time.monotonic() + 5
    while True:
        services = simulator.stats()["services"]
        if all(services[n]["disconnects"] == 1 for n in SLOW) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for name in SLOW:
        assert services[name]["disconnects"] == 1
        assert services[name]["in_flight"] == 0
