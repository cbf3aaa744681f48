"""One pooled session per event loop: reused on its loop, never shared, closed at shutdown."""

import asyncio
import threading

import chorus
from chorus.asgi import ChorusASGIHandler


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


async def test_calls_share_one_session(upstreams):
    await chorus.gather(a=chorus.call("users", "/summary"), deadline=2)
    session = chorus.get_transport()._session
    await chorus.gather(b=chorus.call("billing", "/summary"), deadline=2)
    assert session is not None
    assert chorus.get_transport()._session is session


async def test_lifespan_shutdown_closes_the_session(upstreams):
    await chorus.gather(a=chorus.call("users", "/summary"), deadline=2)
    session = chorus.get_transport()._session
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    await ChorusASGIHandler()({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert session.closed


async def test_shutdown_callbacks_run_before_the_session_closes(upstreams):
    from chorus.lifespan import _callbacks

    order = []

    async def first():
        order.append(("callback", chorus.get_transport()._session is not None))

    async def broken():
        raise RuntimeError("a failing callback must not stop the others")

    await chorus.gather(a=chorus.call("users", "/summary"), deadline=2)
    chorus.on_shutdown(broken)
    chorus.on_shutdown(first)
    chorus.on_shutdown(first)  # registered once
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive():
        return next(messages)

    async def send(message):
        order.append(message["type"])

    try:
        await ChorusASGIHandler()({"type": "lifespan"}, receive, send)
    finally:
        _callbacks.remove(broken)
        _callbacks.remove(first)
    assert order == [
        "lifespan.startup.complete",
        ("callback", True),
        "lifespan.shutdown.complete",
    ]
