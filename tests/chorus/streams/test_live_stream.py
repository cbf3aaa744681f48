"""``chorus.streams``: a hub over a real Redis stream, streamed by ``LiveStreamResponse``.

Each test runs twice: under chorus's handler, where the hub writes each batch
itself (``stream_to_asgi``), and under Django's own ``ASGIHandler``, which
iterates the response. The ASGI server is played by ``StreamClient``, which
can hold its ``send`` as a server's flow control does for a client that stops
reading.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.handlers.asgi import ASGIHandler

from chorus.engine._draining import begin_draining, reset_draining
from chorus.server import ChorusASGIHandler
from chorus.streams import get_hub
from chorus.streams._redis_stream_log import RedisStreamLog
from tests.chorus.support import live_urls
from tests.chorus.support.sse_wire import Frame, parse

pytestmark = pytest.mark.urls("tests.chorus.support.live_urls")

WAIT = 5.0


class StreamClient:
    """One request to an ASGI app, played as a server: the body as it arrives, a disconnect
    on demand, and ``hold()``: sends wait (flow control) until ``release()``."""

    def __init__(self, app: Any, query: str = "", headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.body = b""
        self.status: int | None = None
        self._arrived = asyncio.Event()
        self._gone = asyncio.Event()
        self._open = asyncio.Event()
        self._open.set()
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/live/",
            "raw_path": b"/live/",
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (k.lower().encode(), v.encode())
                for k, v in {"host": "127.0.0.1", **(headers or {})}.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        if not hasattr(self, "_asked"):
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        await self._open.wait()
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.body += message.get("body", b"")
            self._arrived.set()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def frames(self) -> list[Frame]:
        return parse(self.body)

    async def until(self, predicate: Any) -> list[Frame]:
        async with asyncio.timeout(WAIT):
            while not predicate(frames := self.frames()):
                self._arrived.clear()
                await self._arrived.wait()
        return frames

    async def __aenter__(self) -> StreamClient:
        self.task = asyncio.create_task(self.app(self.scope, self.receive, self.send))
        await self.until(lambda frames: any(f.event == "ready" for f in frames))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._gone.set()
        self.release()
        assert self.task is not None
        async with asyncio.timeout(WAIT):
            await self.task


def events(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.id is not None]


@pytest.fixture(params=["chorus", "django"])
def app(request: pytest.FixtureRequest) -> ASGIHandler:
    return ChorusASGIHandler() if request.param == "chorus" else ASGIHandler()


@pytest.fixture
def log(redis_url: str) -> Iterator[RedisStreamLog]:
    stream = f"tests:chorus-live:{uuid.uuid4().hex}"
    log = RedisStreamLog(redis_url, stream=stream, backlog=50)
    live_urls.use_log(log)
    try:
        yield log
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(stream)
        client.close()


async def publish(log: RedisStreamLog, count: int, kind: str = "step") -> list[str]:
    return [await asyncio.to_thread(log.publish, kind, {"n": n}) for n in range(count)]


async def test_events_arrive_in_order_with_id_kind_and_json_data_after_ready(app, log) -> None:
    async with StreamClient(app) as client:
        ready = client.frames()[0]
        assert ready.event == "ready"
        assert ready.retry == 1000
        ids = await publish(log, 30)
        frames = await client.until(lambda frames: len(events(frames)) == 30)
    assert client.status == 200
    assert [f.id for f in events(frames)] == ids
    assert [f.json() for f in events(frames)] == [{"n": n} for n in range(30)]
    assert {f.event for f in events(frames)} == {"step"}


async def test_last_event_id_replays_the_backlog_then_goes_live_without_duplicates(
    app, log
) -> None:
    ids = await publish(log, 5)
    async with StreamClient(app, headers={"Last-Event-ID": ids[1]}) as client:
        later = await publish(log, 4)
        frames = await client.until(lambda frames: len(events(frames)) == 7)
        await asyncio.sleep(0.1)  # nothing more may come
    assert [f.id for f in events(client.frames())] == ids[2:] + later
    assert frames[0].json() == {"last_event_id": ids[1]}


async def test_an_id_older_than_the_backlog_gets_reset_before_ready(app, log) -> None:
    [first] = await publish(log, 1)
    await publish(log, 300)  # the log keeps about 50
    async with StreamClient(app, headers={"Last-Event-ID": first}) as client:
        pass
    assert [f.event for f in client.frames()[:2]] == ["reset", "ready"]


async def test_an_idle_stream_sends_heartbeats_and_a_busy_one_does_not(app, log) -> None:
    async with StreamClient(app, query="heartbeat=0.1") as client:
        await client.until(lambda frames: sum(f.comments == ("heartbeat",) for f in frames) >= 2)
    async with StreamClient(app, query="heartbeat=0.3") as busy:
        for _ in range(8):
            await publish(log, 1)
            await asyncio.sleep(0.05)
        await busy.until(lambda frames: len(events(frames)) == 8)
    assert not any(f.comments == ("heartbeat",) for f in busy.frames())


async def test_a_client_that_leaves_leaves_no_viewer_reader_or_task(app, log) -> None:
    hub = get_hub(log)
    before = asyncio.all_tasks()
    async with StreamClient(app) as client:
        assert hub.viewer_count == 1
        assert hub.running
    await asyncio.sleep(0)
    assert hub.viewer_count == 0
    assert not hub.running
    assert asyncio.all_tasks() - before - {client.task} == set()


async def test_draining_ends_the_stream_with_a_shutdown_event(app, log) -> None:
    try:
        async with StreamClient(app) as client:
            begin_draining()
            async with asyncio.timeout(WAIT):
                await asyncio.shield(client.task)  # the stream ends by itself
    finally:
        reset_draining()
    assert client.frames()[-1].event == "shutdown"


async def test_a_client_held_by_flow_control_gets_what_queued_in_one_write_in_order(
    app, log
) -> None:
    async with StreamClient(app) as client:
        client.hold()
        ids = await publish(log, 1)
        await asyncio.sleep(0.2)  # the first write is now waiting on the client
        ids += await publish(log, 20)
        await asyncio.sleep(0.2)
        client.release()
        frames = await client.until(lambda frames: len(events(frames)) == 21)
    assert [f.id for f in events(frames)] == ids


async def test_a_client_that_stops_reading_is_cut_off_with_overflow(app, log) -> None:
    async with StreamClient(app, query="limit=5") as client:
        client.hold()
        await publish(log, 1)
        await asyncio.sleep(0.2)
        await publish(log, 12)
        await asyncio.sleep(0.2)
        client.release()
        async with asyncio.timeout(WAIT):
            await asyncio.shield(client.task)  # ended by the server
    last = client.frames()[-1]
    assert last.event == "overflow"
    assert last.json()["limit"] == 5
