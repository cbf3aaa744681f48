"""``/api/events/`` and ``/api/dashboard/stream/`` through the real ASGI handler."""

import pytest

from storefront.asgi import application
from tests.chorus.support.sse_wire import parse
from tests.fixtures.asgi import asgi_request


async def test_events_are_ten_numbered_steps_the_first_telling_the_client_its_retry_delay(api_key):
    response = await asgi_request(
        application, "/api/events/", query="interval=0.01", headers=api_key
    )
    frames = parse(response.body)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [f.id for f in frames] == [str(n) for n in range(10)]
    assert {f.event for f in frames} == {"step"}
    assert frames[4].json() == {"step": 4, "of": 10}
    assert frames[0].retry == 500
    assert all(f.retry is None for f in frames[1:])


async def test_events_resume_after_the_last_event_id(api_key):
    response = await asgi_request(
        application,
        "/api/events/",
        query="interval=0.01",
        headers={**api_key, "Last-Event-ID": "7"},
    )
    assert [f.id for f in parse(response.body)] == ["8", "9"]


async def test_an_unusable_last_event_id_starts_from_the_beginning(api_key):
    response = await asgi_request(
        application,
        "/api/events/",
        query="interval=0.01&count=2",
        headers={**api_key, "Last-Event-ID": "²"},
    )
    assert [f.id for f in parse(response.body)] == ["0", "1"]


async def test_per_connection_ends_the_stream_early_as_a_proxy_might(api_key):
    response = await asgi_request(
        application, "/api/events/", query="interval=0.01&per_connection=3", headers=api_key
    )
    assert [f.id for f in parse(response.body)] == ["0", "1", "2"]


async def test_steps_are_spaced_by_the_interval_with_heartbeats_in_between(api_key):
    response = await asgi_request(
        application, "/api/events/", query="count=2&interval=0.5&heartbeat=0.1", headers=api_key
    )
    frames = parse(response.body)
    assert [f.id for f in frames if f.data is not None] == ["0", "1"]
    assert sum(f.comments == ("heartbeat",) for f in frames) >= 2


@pytest.mark.parametrize(
    "query",
    [
        "count=0",
        "count=1001",
        "count=x",
        "interval=0",
        "interval=nan",
        "heartbeat=61",
        "per_connection=0",
    ],
)
async def test_out_of_bounds_parameters_are_a_json_400(query, api_key):
    response = await asgi_request(application, "/api/events/", query=query, headers=api_key)
    assert response.status == 400
    assert response.json()["error"]["code"] == "bad_parameter"


async def test_events_answer_get_only(api_key):
    response = await asgi_request(application, "/api/events/", method="POST", headers=api_key)
    assert response.status in (403, 405)


async def test_dashboard_stream_sends_each_source_then_the_summary(upstreams, api_key):
    response = await asgi_request(application, "/api/dashboard/stream/", headers=api_key)
    frames = parse(response.body)
    summary = frames[-1].json()
    assert [f.event for f in frames] == ["source"] * len(summary["sources"]) + ["summary"]
    names = {f.json()["name"] for f in frames[:-1]}
    assert names == set(summary["sources"]) >= {"inventory", "notifications", "analytics"}
    assert summary["sources"]["inventory"]["status"] == "ok"
