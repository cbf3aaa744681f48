"""One transport per event loop: its connections reused on that loop, closed at shutdown.

What the transport does with its connections is seen from the server's side: a
raw loopback server counts the connections it accepts and notices when the
client closes one. Every test runs over both transports (``each_transport``).
"""

import asyncio
import threading

import pytest

import chorus
from chorus.server._asgi import ChorusASGIHandler
from chorus.server._lifespan import _callbacks
from tests.fixtures.raw_server import RawServer, answer, eof

pytestmark = pytest.mark.usefixtures("each_transport")


async def test_transport_is_reused_on_one_loop():
    assert chorus.get_transport() is chorus.get_transport()


async def test_each_loop_gets_its_own_transport():
    here = chorus.get_transport()
    there = []

    def other_loop():
        async def grab():
            there.append(chorus.get_transport())
            await chorus.aclose_transport()

        asyncio.run(grab())

    thread = threading.Thread(target=other_loop)
    thread.start()
    thread.join()
    assert there
    assert there[0] is not here
    assert type(there[0]) is type(here)


@pytest.fixture
async def upstream(settings):
    """A keep-alive JSON server, configured as two upstreams on one origin."""
    server = await RawServer(lambda conn: conn.serve(answer(b'{"ok": true}'))).start()
    settings.CHORUS = {
        "UPSTREAMS": {name: {"BASE_URL": f"{server.url}/{name}"} for name in ("users", "billing")}
    }
    try:
        yield server
    finally:
        await server.close()


async def lifespan(send) -> None:
    """Drive ``ChorusASGIHandler`` through an ASGI lifespan: startup, then shutdown."""
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive():
        return next(messages)

    await ChorusASGIHandler()({"type": "lifespan"}, receive, send)


async def test_calls_share_one_connection(upstream):
    first = await chorus.gather(a=chorus.call("users", "/summary"), deadline=2)
    second = await chorus.gather(b=chorus.call("billing", "/summary"), deadline=2)
    assert first.sources["a"].data == second.sources["b"].data == {"ok": True}
    [connection] = upstream.connections
    assert [request.target for request in connection.requests] == [
        "/users/summary",
        "/billing/summary",
    ]
    assert not connection.eof.is_set()  # still open, pooled for the next call


async def test_lifespan_shutdown_closes_the_pooled_connections(upstream):
    await chorus.gather(a=chorus.call("users", "/summary"), deadline=2)
    transport = chorus.get_transport()
    sent = []

    async def send(message):
        sent.append(message["type"])

    await lifespan(send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    await eof(upstream.connections[0])  # the server saw the client close it
    if isinstance(transport, chorus.Http1Transport):
        assert transport.open_connections == 0
    assert chorus.get_transport() is not transport  # the loop's next call makes a new one


async def test_shutdown_callbacks_run_before_the_transport_closes(upstream):
    used = []
    order = []

    async def first():
        await asyncio.sleep(0.05)  # time enough for the server to see a close, were there one
        still_open = not upstream.connections[0].eof.is_set()
        order.append(("callback", chorus.get_transport() is used[0], still_open))

    async def broken():
        raise RuntimeError("a failing callback must not stop the others")

    await chorus.gather(a=chorus.call("users", "/summary"), deadline=2)
    used.append(chorus.get_transport())
    chorus.server.on_shutdown(broken)
    chorus.server.on_shutdown(first)
    chorus.server.on_shutdown(first)  # registered once

    async def send(message):
        order.append(message["type"])

    try:
        await lifespan(send)
    finally:
        _callbacks.remove(broken)
        _callbacks.remove(first)
    assert order == [
        "lifespan.startup.complete",
        ("callback", True, True),
        "lifespan.shutdown.complete",
    ]
    await eof(upstream.connections[0])
