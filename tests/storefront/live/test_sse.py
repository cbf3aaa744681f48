"""``GET /api/live/`` under a real uvicorn: every event, resumable, bounded, authenticated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from asgiref.sync import sync_to_async

from chorus.streams import EventLog
from storefront.live.backends import get_hub
from tests.storefront.live.support.sse import frames, take_events
from tests.storefront.support.server import serving_storefront


@pytest.fixture
async def base_url(live_backend: EventLog) -> AsyncIterator[str]:
    async with serving_storefront() as url:
        yield url


@pytest.fixture
async def http(base_url: str, api_key: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, headers=api_key, timeout=10) as client:
        yield client


async def _publish(backend: EventLog, count: int) -> list[str]:
    return [await sync_to_async(backend.publish)("test.step", {"n": n}) for n in range(count)]


async def test_a_published_event_arrives_with_its_id_kind_and_json_data(
    http: httpx.AsyncClient, live_backend: EventLog
) -> None:
    async with http.stream("GET", "/api/live/") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = frames(response)
        [ready] = await take_events(stream, 1)
        assert ready.event == "ready"
        [event_id] = await _publish(live_backend, 1)
        [event] = await take_events(stream, 1)
    assert (event.id, event.event, event.json()) == (event_id, "test.step", {"n": 0})


@pytest.mark.parametrize("how", ["header", "query"])
async def test_last_event_id_replays_what_was_missed(
    http: httpx.AsyncClient, live_backend: EventLog, how: str
) -> None:
    ids = await _publish(live_backend, 5)
    headers = {"Last-Event-ID": ids[1]} if how == "header" else {}
    params = {"last_event_id": ids[1]} if how == "query" else {}
    async with http.stream("GET", "/api/live/", headers=headers, params=params) as response:
        stream = frames(response)
        ready, *replayed = await take_events(stream, 4)
    assert ready.json() == {"last_event_id": ids[1]}
    assert [frame.id for frame in replayed] == ids[2:]


@pytest.mark.live_settings(BACKLOG=3)
async def test_an_id_older_than_the_backlog_gets_a_reset_event(
    http: httpx.AsyncClient, live_backend: EventLog
) -> None:
    [first] = await _publish(live_backend, 1)
    await _publish(live_backend, 250)
    async with http.stream("GET", "/api/live/", headers={"Last-Event-ID": first}) as response:
        [reset, ready] = await take_events(frames(response), 2)
    assert reset.event == "reset"
    assert reset.json()["last_event_id"] == first
    assert ready.event == "ready"


async def test_a_malformed_last_event_id_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/live/", headers={"Last-Event-ID": "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_last_event_id"


async def test_an_idle_stream_sends_heartbeats(http: httpx.AsyncClient) -> None:
    async with http.stream("GET", "/api/live/", params={"heartbeat": "0.05"}) as response:
        stream = frames(response)
        await take_events(stream, 1)
        async with asyncio.timeout(5):
            frame = await anext(stream)
    assert frame.comment == "heartbeat"


async def test_without_credentials_the_stream_is_refused(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        response = await anonymous.get("/api/live/")
    assert response.status_code == 401


async def test_a_staff_session_may_watch(base_url: str, staff_cookie: str) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, headers={"cookie": staff_cookie}) as browser,
        browser.stream("GET", "/api/live/") as response,
    ):
        [ready] = await take_events(frames(response), 1)
    assert ready.event == "ready"


async def test_a_viewer_that_disconnects_leaves_no_reader_behind(
    http: httpx.AsyncClient,
) -> None:
    async with http.stream("GET", "/api/live/") as response:
        await take_events(frames(response), 1)
        hub = get_hub()
        assert hub.viewer_count == 1
    for _ in range(500):  # up to 5 s for the server to notice the client is gone
        if not (hub.running or hub.viewer_count):
            break
        await asyncio.sleep(0.01)
    assert not hub.running
    assert hub.viewer_count == 0


@pytest.mark.live_settings(VIEWER_QUEUE=5)
async def test_a_viewer_that_stops_reading_is_cut_off_with_a_final_overflow_event(
    http: httpx.AsyncClient, live_backend: EventLog
) -> None:
    big = "x" * 256_000  # enough events of this size fill the socket buffers between us
    async with http.stream("GET", "/api/live/") as response:
        stream = frames(response)
        await take_events(stream, 1)
        for n in range(60):  # while this client reads nothing
            await sync_to_async(live_backend.publish)("test.big", {"n": n, "pad": big})
        hub = get_hub()
        for _ in range(500):  # up to 5 s for the hub to see the queue overflow
            if hub.viewer_count == 0:
                break
            await asyncio.sleep(0.01)
        async with asyncio.timeout(20):
            received = [frame async for frame in stream if frame.comment is None]
    assert hub.viewer_count == 0
    assert received[-1].event == "overflow"
    assert received[-1].json()["limit"] == 5
    assert len(received) < 61  # not every event: it was cut off
