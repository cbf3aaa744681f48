"""A stream's ``cutoff``: given an ``Event``, the stream sends it last and ends, whoever serves it.

Live streams run under chorus's handler (the hub writes to the client itself,
``stream_to_asgi``) and Django's (the response is iterated); producer streams
under both too. A stream that ends otherwise cancels its cutoff, so the owner
of the futures (one task per worker, say) can forget it.
"""

from __future__ import annotations

import asyncio

import pytest
from django.core.handlers.asgi import ASGIHandler

from chorus.server import ChorusASGIHandler
from chorus.streams import Event, get_hub
from tests.chorus.streams.test_live_stream import StreamClient, events
from tests.chorus.support import cutoff_urls
from tests.chorus.support.memory_log import MemoryLog

pytestmark = pytest.mark.urls("tests.chorus.support.cutoff_urls")

REVOKED = Event(event="revoked", data={"reason": "api_key_revoked"})


@pytest.fixture(params=["chorus", "django"])
def app(request: pytest.FixtureRequest) -> ASGIHandler:
    return ChorusASGIHandler() if request.param == "chorus" else ASGIHandler()


@pytest.fixture
def log() -> MemoryLog:
    log = MemoryLog()
    cutoff_urls.use_log(log)
    return log


def _client(app: ASGIHandler, path: str) -> StreamClient:
    client = StreamClient(app)
    client.scope["path"] = path
    client.scope["raw_path"] = path.encode()
    return client


async def _ended(client: StreamClient) -> None:
    assert client.task is not None
    async with asyncio.timeout(2):
        await asyncio.shield(client.task)  # it ends by itself, the client still there


async def test_a_live_stream_cut_off_ends_with_the_given_event_and_the_others_go_on(
    app: ASGIHandler, log: MemoryLog
) -> None:
    hub = get_hub(log)
    async with _client(app, "/live/") as cut, _client(app, "/live/") as kept:
        log.publish("order.created", {"id": 1})
        await cut.until(lambda frames: len(events(frames)) == 1)
        first, second = cutoff_urls.cutoffs
        first.set_result(REVOKED)
        await _ended(cut)
        assert hub.viewer_count == 1
        log.publish("order.created", {"id": 2})
        await kept.until(lambda frames: len(events(frames)) == 2)
        assert not second.done()
    last = cut.frames()[-1]
    assert (last.event, last.json(), last.id) == ("revoked", {"reason": "api_key_revoked"}, None)
    assert [f.json() for f in events(cut.frames())] == [{"id": 1}]
    assert "revoked" not in [f.event for f in kept.frames()]
    assert second.cancelled()  # the kept stream ended when its client left: its cutoff with it


async def test_a_live_stream_already_cut_off_when_it_opens_ends_at_once(
    app: ASGIHandler, log: MemoryLog
) -> None:
    client = _client(app, "/live/")
    original = cutoff_urls._cutoff

    def already_cut() -> asyncio.Future[Event]:
        future = original()
        future.set_result(REVOKED)
        return future

    cutoff_urls._cutoff = already_cut  # type: ignore[assignment]
    try:
        async with client:
            await _ended(client)
    finally:
        cutoff_urls._cutoff = original  # type: ignore[assignment]
    assert client.frames()[-1].event == "revoked"
    assert get_hub(log).viewer_count == 0


async def test_a_producer_stream_cut_off_ends_with_the_event_and_closes_its_producer(
    app: ASGIHandler, log: MemoryLog
) -> None:
    async with _client(app, "/endless/") as client:
        [cutoff] = cutoff_urls.cutoffs
        cutoff.set_result(REVOKED)
        await _ended(client)
    assert [f.event for f in client.frames()] == ["ready", "revoked"]
    assert cutoff_urls.journal == ["finally"]


async def test_a_cutoff_cancelled_by_its_owner_ends_the_stream_without_a_last_event(
    app: ASGIHandler, log: MemoryLog
) -> None:
    async with _client(app, "/live/") as client:
        cutoff_urls.cutoffs[0].cancel()
        await _ended(client)
    assert [f.event for f in client.frames()] == ["ready"]


async def test_a_stream_whose_client_leaves_cancels_its_cutoff(
    app: ASGIHandler, log: MemoryLog
) -> None:
    async with _client(app, "/live/"), _client(app, "/endless/"):
        pass
    await asyncio.sleep(0)
    assert [future.cancelled() for future in cutoff_urls.cutoffs] == [True, True]


async def test_a_response_closed_without_being_streamed_cancels_its_cutoff(log: MemoryLog) -> None:
    from django.test import AsyncRequestFactory

    from chorus.streams import LiveStreamResponse

    cutoff: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
    response = LiveStreamResponse(AsyncRequestFactory().get("/live/"), get_hub(log), cutoff=cutoff)
    await asyncio.to_thread(response.close)  # as Django may, from a thread of its own
    await asyncio.wait({cutoff}, timeout=1)
    assert cutoff.cancelled()
