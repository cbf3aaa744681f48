"""``chorus.server.begin_draining()``: open event streams send their final event and end, cleanly."""

import asyncio

import pytest

import chorus
from chorus.engine._draining import reset_draining
from chorus.server import ChorusASGIHandler
from tests.chorus.support import streams_urls
from tests.chorus.support.sse_wire import parse
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.streams_urls")


@pytest.fixture(autouse=True)
def _fresh():
    reset_draining()
    streams_urls.journal.clear()
    yield
    reset_draining()


async def test_draining_ends_an_endless_stream_with_a_shutdown_event_and_runs_its_cleanup():
    async def drain_soon():
        await asyncio.sleep(0.2)
        chorus.server.begin_draining()

    drainer = asyncio.create_task(drain_soon())
    async with asyncio.timeout(5):
        response = await asgi_request(ChorusASGIHandler(), "/endless/", query="heartbeat=")
    await drainer
    frames = parse(response.body)
    assert frames[0].event == "tick"
    final = frames[-1]
    assert final.event == "shutdown"
    assert final.id is None
    assert final.retry == 1000
    assert streams_urls.journal == ["started", "cancelled", "finally"]


async def test_a_stream_opened_while_draining_ends_at_once():
    chorus.server.begin_draining()
    assert chorus.server.is_draining()
    async with asyncio.timeout(5):
        response = await asgi_request(ChorusASGIHandler(), "/endless/", query="heartbeat=")
    assert [f.event for f in parse(response.body)] == ["shutdown"]
    await chorus.server.wait_draining()  # returns at once


async def test_a_stream_that_ends_leaves_nothing_registered():
    from chorus.engine._draining import _callbacks

    response = await asgi_request(ChorusASGIHandler(), "/steps/")
    assert len(parse(response.body)) == 10
    assert not _callbacks.get(asyncio.get_running_loop())


async def test_wait_draining_returns_when_draining_begins_and_unregisters():
    from chorus.engine._draining import _callbacks

    waiter = asyncio.create_task(chorus.server.wait_draining())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    chorus.server.begin_draining()
    async with asyncio.timeout(2):
        await waiter
    assert not _callbacks.get(asyncio.get_running_loop())
