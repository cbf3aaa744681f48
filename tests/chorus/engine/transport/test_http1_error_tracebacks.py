"""``Http1Transport``'s errors belong to the call that failed, and to no other.

An exception object raised more than once collects every raise in its
``__traceback__``: a shared (cached) error keeps the frames of every caller it
ever went through alive, and their locals with them. Under an upstream that
resets every connection that was memory growing without bound (issue 25).
These tests run against a real loopback server that resets each connection as
soon as it has read the request.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from types import FrameType, TracebackType

import pytest

from chorus.engine._exceptions import TransportError
from chorus.engine.transport._http1 import Http1Transport
from tests.fixtures.http1 import get
from tests.fixtures.raw_server import OK, Conn, RawServer


class Payload:
    """Stands in for what a caller's frame holds (a request, an attempt)."""


async def reset_each_connection(conn: Conn) -> None:
    await conn.read_request()
    conn.reset()


async def settle() -> None:
    """Let the loop run the callbacks a closed connection leaves (they hold its last
    exchange for a turn or two), then collect the cycles a caught exception makes."""
    for _ in range(5):
        await asyncio.sleep(0)
    gc.collect()


def frames_of(error: BaseException) -> list[FrameType]:
    """Every frame in ``error``'s traceback and in those of its cause and context."""
    frames: list[FrameType] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        tb: TracebackType | None = current.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        pending += [current.__cause__, current.__context__]
    return frames


async def first_caller(transport: Http1Transport, server: RawServer) -> TransportError:
    try:
        await get(transport, server)
    except TransportError as error:
        return error
    raise AssertionError("the upstream reset the connection: the call should have failed")


async def second_caller(transport: Http1Transport, server: RawServer) -> TransportError:
    try:
        await get(transport, server)
    except TransportError as error:
        return error
    raise AssertionError("the upstream reset the connection: the call should have failed")


async def test_each_failure_is_a_new_error_with_only_its_own_frames(serve, transport):
    server = await serve(reset_each_connection)
    first = await first_caller(transport, server)
    second = await second_caller(transport, server)
    assert str(first) == str(second) == "connection closed by upstream"
    assert second is not first
    codes = [frame.f_code for frame in frames_of(second)]
    assert second_caller.__code__ in codes
    assert first_caller.__code__ not in codes


async def test_a_failed_call_keeps_nothing_of_its_caller_alive(serve, transport):
    server = await serve(reset_each_connection)

    async def caller() -> weakref.ref[Payload]:
        payload = Payload()  # held by this frame alone
        with pytest.raises(TransportError, match="connection closed by upstream"):
            await get(transport, server)
        return weakref.ref(payload)

    held = [await caller() for _ in range(3)]
    await settle()
    assert [ref() for ref in held] == [None, None, None]


async def test_a_failed_resend_keeps_nothing_of_its_caller_alive(serve, transport):
    """The other way to the same error: a stale pooled connection, re-sent, then reset."""

    async def handler(conn: Conn) -> None:
        if conn.number % 2 == 0:
            await conn.read_request()
            await conn.send(OK)
            await conn.read_request()
            conn.writer.close()  # the pooled connection goes stale ...
        else:
            await reset_each_connection(conn)  # ... and the re-send is reset

    server = await serve(handler)

    async def caller() -> tuple[weakref.ref[Payload], TransportError]:
        payload = Payload()
        await get(transport, server)
        with pytest.raises(TransportError, match="connection closed by upstream") as caught:
            await get(transport, server)
        return weakref.ref(payload), caught.value

    held, first = await caller()
    assert first.attempts == 2
    del first
    await settle()
    assert held() is None
    held, second = await caller()
    assert second.attempts == 2
    assert len(server.connections) == 4
