"""``on_shutdown``: callbacks awaited at the ASGI lifespan's shutdown, then the transport closed.

Each test drives ``chorus.server.get_asgi_application()`` as a server does: a
``lifespan`` scope, ``lifespan.startup`` then ``lifespan.shutdown``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import chorus
from chorus.server import get_asgi_application, on_shutdown
from chorus.server._lifespan import _callbacks
from tests.fixtures.raw_server import answer, eof


@pytest.fixture(autouse=True)
def _only_this_tests_callbacks() -> Iterator[None]:
    """The process's callbacks (a project's apps register some) stay out of the test."""
    registered = list(_callbacks)
    _callbacks.clear()
    try:
        yield
    finally:
        _callbacks[:] = registered


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def chorus_log() -> Iterator[Records]:
    """What the "chorus" logger writes at ERROR, whether or not a project lets it propagate."""
    logger = logging.getLogger("chorus")
    handler = Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def run_lifespan(seen: list[Any]) -> None:
    """Startup, then shutdown; every message sent and received lands in ``seen``, in order."""
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        message = next(messages)
        seen.append(message["type"])
        return message

    async def send(message: dict[str, Any]) -> None:
        seen.append(message["type"])

    await get_asgi_application()({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)


async def test_startup_and_shutdown_are_both_answered():
    seen: list[Any] = []
    await run_lifespan(seen)
    assert seen == [
        "lifespan.startup",
        "lifespan.startup.complete",
        "lifespan.shutdown",
        "lifespan.shutdown.complete",
    ]


async def test_an_async_callback_is_awaited_at_shutdown():
    seen: list[Any] = []

    async def closing() -> None:
        seen.append("async callback")

    on_shutdown(closing)
    await run_lifespan(seen)
    assert seen[2:] == ["lifespan.shutdown", "async callback", "lifespan.shutdown.complete"]


async def test_a_sync_callback_is_called_at_shutdown_and_is_no_failure(chorus_log):
    seen: list[Any] = []

    def closing() -> None:
        seen.append("sync callback")

    on_shutdown(closing)
    await run_lifespan(seen)
    assert seen[2:] == ["lifespan.shutdown", "sync callback", "lifespan.shutdown.complete"]
    assert chorus_log.records == []


async def test_callbacks_run_in_the_order_they_were_registered():
    seen: list[Any] = []

    async def first() -> None:
        seen.append("first")

    async def second() -> None:
        seen.append("second")

    on_shutdown(first)
    on_shutdown(second)
    await run_lifespan(seen)
    assert seen[3:5] == ["first", "second"]


async def test_a_callback_registered_twice_runs_once():
    seen: list[Any] = []

    async def closing() -> None:
        seen.append("callback")

    assert on_shutdown(closing) is closing  # usable as a decorator
    on_shutdown(closing)
    await run_lifespan(seen)
    assert seen.count("callback") == 1


async def test_a_failing_callback_does_not_stop_the_others():
    seen: list[Any] = []

    async def broken() -> None:
        raise RuntimeError("broken")

    async def closing() -> None:
        seen.append("callback")

    on_shutdown(broken)
    on_shutdown(closing)
    await run_lifespan(seen)
    assert seen[2:] == ["lifespan.shutdown", "callback", "lifespan.shutdown.complete"]


async def test_a_failing_callback_is_logged_with_its_error(chorus_log):
    async def broken() -> None:
        raise RuntimeError("broken")

    on_shutdown(broken)
    await run_lifespan([])
    [record] = chorus_log.records
    assert record.getMessage() == f"shutdown callback {broken!r} failed"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


async def test_the_transport_is_closed_at_shutdown(settings, serve):
    server = await serve(lambda conn: conn.serve(answer(b"{}")))
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": server.url}}}
    await chorus.fetch(chorus.call("svc", "/a"))
    transport = chorus.get_transport()
    await run_lifespan([])
    await eof(server.connections[0])  # the server saw its pooled connection closed
    assert chorus.get_transport() is not transport  # the next call on this loop makes another


async def test_callbacks_still_find_the_transport_open(settings, serve):
    server = await serve(lambda conn: conn.serve(answer(b"{}")))
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": server.url}}}
    found: list[Any] = []

    async def last_call() -> None:
        found.append(await chorus.fetch(chorus.call("svc", "/goodbye")))

    on_shutdown(last_call)
    await chorus.fetch(chorus.call("svc", "/a"))
    await run_lifespan([])
    assert found == [{}]
    assert [request.target for request in server.connections[0].requests] == ["/a", "/goodbye"]
