"""``Http1Transport`` when upstreams misbehave: stale connections, broken answers.

Each test starts a raw ``asyncio`` server whose handler it writes itself: it reads
the request head the transport really sent and answers with exact bytes, closes,
or resets the connection. What the server saw (connections accepted, requests
read, EOF) is the evidence for reuse, re-sends and closing.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from chorus.engine._exceptions import TransportError
from tests.fixtures.http1 import get
from tests.fixtures.raw_server import OK, Conn, answer, eof

# -- a reused connection the upstream closed ----------------------------------


async def close_after_first_answer(conn: Conn) -> None:
    """Answer the first request on the first connection, then read one more and hang up."""
    if conn.number == 0:
        await conn.read_request()
        await conn.send(OK)
        await conn.read_request()
        conn.writer.close()
    else:
        await conn.serve(answer(b"again"))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_request_is_resent_once_on_a_stale_connection(serve, transport, method):
    server = await serve(close_after_first_answer)
    await get(transport, server)
    response = await get(transport, server, "/second", method=method)
    assert response.body == b"again"
    assert [[r.target for r in conn.requests] for conn in server.connections] == [
        ["/", "/second"],
        ["/second"],
    ]


async def test_post_is_not_resent_on_a_stale_connection(serve, transport):
    server = await serve(close_after_first_answer)
    await get(transport, server)
    with pytest.raises(TransportError, match="connection closed by upstream"):
        await get(transport, server, "/second", method="POST", body=b"once")
    await asyncio.sleep(0.05)
    assert len(server.connections) == 1
    assert [r.method for r in server.requests] == ["GET", "POST"]


async def test_the_resend_goes_to_a_new_connection_not_another_pooled_one(serve, transport):
    both = asyncio.Barrier(3)

    async def handler(conn):
        if conn.number >= 2:
            await conn.serve(answer(b"fresh"))
            return
        await conn.read_request()
        await both.wait()  # two requests at once: two connections in the pool
        await conn.send(OK)
        await conn.read_request()
        conn.writer.close()  # then both go stale

    server = await serve(handler)
    first = asyncio.create_task(get(transport, server))
    second = asyncio.create_task(get(transport, server))
    async with asyncio.timeout(1):
        await both.wait()
    await asyncio.gather(first, second)
    response = await get(transport, server, "/again")
    assert response.body == b"fresh"
    sent = [[r.target for r in conn.requests] for conn in server.connections]
    assert sent[2] == ["/again"]  # the re-send opened a connection of its own ...
    assert sorted(sent[:2]) == [["/"], ["/", "/again"]]  # ... leaving the other stale one


# -- broken answers -----------------------------------------------------------


async def test_reset_mid_body(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await asyncio.sleep(0.05)  # let the client read the head before the RST
        conn.reset()

    server = await serve(handler)
    with pytest.raises(TransportError, match="connection reset"):
        await get(transport, server)
    assert len(server.connections) == 1
    assert transport.open_connections == 0


@pytest.mark.parametrize(
    "cut",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ],
    ids=["content-length", "chunked"],
)
async def test_body_broken_off_before_its_end(serve, transport, cut):
    async def handler(conn):
        await conn.read_request()
        await conn.send(cut)
        conn.writer.close()

    server = await serve(handler)
    with pytest.raises(TransportError, match="broken off"):
        await get(transport, server)
    assert transport.open_connections == 0


@pytest.mark.parametrize(
    "garbage",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["status-line", "status-code", "content-length", "chunk-size"],
)
async def test_malformed_answer(serve, transport, garbage):
    async def handler(conn):
        await conn.read_request()
        await conn.send(garbage)
        await conn.wait_for_eof()

    server = await serve(handler)
    with pytest.raises(TransportError, match="malformed response"):
        await get(transport, server)
    await eof(server.connections[0])


async def test_head_ignores_the_content_length_and_does_not_hang(serve, transport):
    server = await serve(
        lambda conn: conn.serve(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    )
    response = await get(transport, server, method="HEAD")
    assert (response.status, response.body) == (200, b"")
    assert response.headers["content-length"] == "1000"
    await eof(server.connections[0])  # not reused: llhttp would expect a body
    assert transport.open_connections == 0
    assert (await get(transport, server, method="HEAD")).status == 200


async def test_head_is_not_refused_for_the_size_it_announces(serve, transport):
    """A HEAD answer has no body: its Content-Length is the resource's size, not a read."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n"
    server = await serve(lambda conn: conn.serve(head))
    response = await get(transport, server, method="HEAD", max_body_bytes=1000)
    assert (response.status, response.body) == (200, b"")
    assert response.headers["content-length"] == "10000000"


# -- further edges ----------------------------------------------------------


async def test_an_empty_compressed_body_is_an_empty_body(serve, transport):
    server = await serve(lambda conn: conn.serve(answer(b"", "200 OK", "Content-Encoding: gzip")))
    assert (await get(transport, server)).body == b""


async def test_raw_deflate_without_zlib_framing_is_inflated(serve, transport):
    data = b'{"raw": "deflate"}' * 50
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = packer.compress(data) + packer.flush()
    server = await serve(
        lambda conn: conn.serve(answer(raw, "200 OK", "Content-Encoding: deflate"))
    )
    assert (await get(transport, server)).body == data


async def test_bytes_after_the_end_of_a_compressed_body_are_refused(serve, transport):
    # zlib would keep whatever follows the stream, uncounted: an unbounded buffer.
    junk = gzip.compress(b"{}") + b"x" * 100_000
    server = await serve(lambda conn: conn.serve(answer(junk, "200 OK", "Content-Encoding: gzip")))
    with pytest.raises(TransportError, match="after the end of a compressed body"):
        await get(transport, server, max_body_bytes=1000)
    assert transport.open_connections == 0


async def test_an_upgrade_answer_is_a_transport_error(serve, transport, caplog):
    upgrade = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    )
    server = await serve(lambda conn: conn.serve(upgrade))
    with pytest.raises(TransportError, match="malformed response"):
        await get(transport, server)
    assert "Fatal error" not in caplog.text


@pytest.mark.parametrize("name", ["Host", "Content-Length", "transfer-encoding", "Connection"])
async def test_framing_headers_are_the_transports_own(serve, transport, name):
    server = await serve(lambda conn: conn.serve(OK))
    with pytest.raises(TransportError, match="the transport's to set"):
        await get(transport, server, headers={name: "1"})
    assert server.requests == []


async def test_closing_the_transport_mid_answer_is_an_error_not_a_short_body(serve, transport):
    started = asyncio.Event()

    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\n\r\npart of a body that ends when the connection")
        started.set()
        await conn.wait_for_eof()

    server = await serve(handler)
    pending = asyncio.create_task(get(transport, server))
    async with asyncio.timeout(1):
        await started.wait()
    await asyncio.sleep(0.01)
    await transport.aclose()
    with pytest.raises(TransportError, match="closed by chorus"):
        await pending
    assert len(server.connections) == 1  # and nothing was sent again


async def test_a_resend_is_counted_in_the_responses_attempts(serve, transport):
    server = await serve(close_after_first_answer)
    assert (await get(transport, server)).attempts == 1
    resent = await get(transport, server, "/second")
    assert resent.attempts == 2


async def test_a_failed_resend_is_counted_in_the_errors_attempts(serve, transport):
    async def always_hang_up(conn: Conn) -> None:
        if conn.number == 0:
            await conn.read_request()
            await conn.send(OK)
        await conn.read_request()
        conn.writer.close()

    server = await serve(always_hang_up)
    await get(transport, server)
    with pytest.raises(TransportError) as raised:
        await get(transport, server, "/second")
    assert raised.value.attempts == 2
