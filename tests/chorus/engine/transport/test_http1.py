"""``Http1Transport``: the exchange on the wire, keep-alive and the pool.

Each test starts a raw ``asyncio`` server whose handler it writes itself: it reads
the request head the transport really sent and answers with exact bytes, closes,
or resets the connection. What the server saw (connections accepted, requests
read, EOF) is the evidence for reuse, re-sends and closing.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from chorus.engine.transport._http1 import Http1Transport
from tests.fixtures.http1 import get
from tests.fixtures.raw_server import OK, answer, eof

# -- the exchange -------------------------------------------------------------


async def test_content_length_answer_and_the_request_head(serve, transport):
    server = await serve(lambda conn: conn.serve(answer(b"hello", "200 OK", "X-Thing: Yes")))
    response = await get(
        transport,
        server,
        "/path?x=1",
        params=[("q", "a b&c"), ("r", "é/")],
        headers={"X-Request-Id": "abc"},
    )
    assert response.status == 200
    assert response.body == b"hello"
    assert response.headers["x-thing"] == "Yes"
    assert set(response.headers) == {"content-length", "x-thing"}
    [request] = server.requests
    assert request.method == "GET"
    assert request.target == "/path?x=1&q=a%20b%26c&r=%C3%A9%2F"
    assert request.header("Host") == f"127.0.0.1:{server.port}"
    assert request.header("User-Agent") == "chorus"
    assert request.header("Accept-Encoding") == "gzip, deflate"
    assert request.header("X-Request-Id") == "abc"
    assert request.header("Content-Length") is None
    assert request.body == b""


async def test_caller_headers_replace_the_defaults(serve, transport):
    server = await serve(lambda conn: conn.serve(OK))
    await get(transport, server, headers={"user-agent": "mine", "Accept-Encoding": "identity"})
    [request] = server.requests
    assert request.header("User-Agent") == "mine"
    assert request.header("Accept-Encoding") == "identity"
    assert len(request.headers) == 4  # Host, Accept and the caller's two: no duplicates


async def test_repeated_answer_headers_are_joined(serve, transport):
    server = await serve(lambda conn: conn.serve(answer(b"", "200 OK", "Vary: a", "VARY: b")))
    assert (await get(transport, server)).headers["vary"] == "a, b"


async def test_post_sends_its_body_with_a_content_length(serve, transport):
    server = await serve(lambda conn: conn.serve(answer(b"", "201 Created")))
    response = await get(transport, server, method="POST", body=b'{"a": 1}')
    assert response.status == 201
    await get(transport, server, method="POST")
    sent, empty = server.requests
    assert (sent.method, sent.header("Content-Length"), sent.body) == ("POST", "8", b'{"a": 1}')
    assert (empty.header("Content-Length"), empty.body) == ("0", b"")


async def test_large_request_body_arrives_whole(serve, transport):
    server = await serve(lambda conn: conn.serve(OK))
    body = random.Random(1).randbytes(2 * 1024 * 1024)
    await get(transport, server, method="PUT", body=body)
    assert server.requests[0].body == body


async def test_chunked_answer(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        await asyncio.sleep(0.01)  # a chunk split across two reads
        await conn.send(b"lo\r\n6\r\n world\r\n0\r\n\r\n")
        await conn.serve(OK)

    server = await serve(handler)
    assert (await get(transport, server)).body == b"hello world"
    assert (await get(transport, server)).body == b"ok"
    assert len(server.connections) == 1  # the chunked answer left the connection reusable


async def test_close_delimited_answer_is_read_to_the_end(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part, ")
        await asyncio.sleep(0.01)
        await conn.send(b"second part")
        conn.writer.close()

    server = await serve(handler)
    response = await get(transport, server)
    assert response.body == b"first part, second part"
    assert transport.open_connections == 0  # a close-delimited connection is done


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
async def test_answers_without_a_body_do_not_wait_for_one(serve, transport, status):
    server = await serve(lambda conn: conn.serve(f"HTTP/1.1 {status}\r\n\r\n".encode()))
    first = await get(transport, server)
    second = await get(transport, server)
    assert first.status == second.status == int(status[:3])
    assert first.body == second.body == b""
    assert len(server.connections) == 1


@pytest.mark.parametrize(
    "interim",
    [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"],
    ids=["100", "103"],
)
async def test_interim_answers_are_skipped(serve, transport, interim):
    async def handler(conn):
        await conn.read_request()
        await conn.send(interim)
        await asyncio.sleep(0.01)
        await conn.send(answer(b"final", "200 OK", "X-Final: 1"))
        await conn.serve(interim + OK)  # both in one read this time

    server = await serve(handler)
    response = await get(transport, server)
    assert (response.status, response.body) == (200, b"final")
    assert "link" not in response.headers
    assert response.headers["x-final"] == "1"
    response = await get(transport, server)
    assert (response.status, response.body) == (200, b"ok")
    assert len(server.connections) == 1


# -- keep-alive and the pool --------------------------------------------------


async def test_sequential_requests_reuse_one_connection(serve, transport):
    server = await serve(lambda conn: conn.serve(OK))
    for _ in range(3):
        assert (await get(transport, server)).body == b"ok"
    assert len(server.connections) == 1
    assert len(server.connections[0].requests) == 3
    assert transport.open_connections == 1


async def test_concurrent_requests_open_connections_and_the_latest_is_reused(serve, transport):
    arrived = [asyncio.Event(), asyncio.Event()]
    released = [asyncio.Event(), asyncio.Event()]

    async def handler(conn):
        await conn.read_request()
        arrived[conn.number].set()
        await released[conn.number].wait()
        await conn.send(OK)
        await conn.serve(OK)

    server = await serve(handler)
    first = asyncio.create_task(get(transport, server))
    second = asyncio.create_task(get(transport, server))
    async with asyncio.timeout(1):
        await asyncio.gather(*(event.wait() for event in arrived))
    released[1].set()  # connection 1 answers, and goes back to the pool, first ...
    await asyncio.wait([first, second], timeout=1, return_when=asyncio.FIRST_COMPLETED)
    released[0].set()  # ... connection 0 last
    await asyncio.gather(first, second)
    await get(transport, server)
    assert [len(conn.requests) for conn in server.connections] == [2, 1]  # last in, first out


@pytest.mark.parametrize(
    "last",
    [
        answer(b"ok", "200 OK", "Connection: close"),
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http/1.0"],
)
async def test_an_answer_that_ends_the_connection_is_not_reused(serve, transport, last):
    server = await serve(lambda conn: conn.serve(last))
    await get(transport, server)
    await get(transport, server)
    assert len(server.connections) == 2
    await eof(server.connections[0])  # the client closed its side, not the server
    assert transport.open_connections == 0


async def test_idle_connections_past_the_idle_timeout_are_not_reused(serve):
    server = await serve(lambda conn: conn.serve(OK))
    client = Http1Transport(idle_timeout=0.05)
    try:
        await get(client, server)
        await get(client, server)  # still fresh: reused
        await asyncio.sleep(0.1)
        await get(client, server)
        assert [len(conn.requests) for conn in server.connections] == [2, 1]
        await eof(server.connections[0])  # the expired one was closed
        assert client.open_connections == 1
    finally:
        await client.aclose()


@pytest.mark.parametrize("when", ["with the answer", "while idle"])
async def test_unsolicited_bytes_retire_the_connection(serve, transport, when):
    extra = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"

    async def handler(conn):
        await conn.read_request()
        if conn.number:
            await conn.send(answer(b"second"))
        elif when == "with the answer":
            await conn.send(OK + extra)
        else:
            await conn.send(OK)
            await asyncio.sleep(0.01)
            await conn.send(extra)
        await conn.wait_for_eof()

    server = await serve(handler)
    assert (await get(transport, server)).body == b"ok"
    await eof(server.connections[0])  # the client dropped it
    assert (await get(transport, server)).body == b"second"
    assert len(server.connections) == 2
    assert len(server.connections[0].requests) == 1


async def test_a_connection_the_upstream_closed_while_idle_is_skipped(serve, transport):
    async def handler(conn):
        await conn.read_request()
        await conn.send(OK)
        if conn.number == 0:
            conn.writer.close()  # the client sees the FIN while the connection is idle
            return
        await conn.serve(OK)

    server = await serve(handler)
    await get(transport, server)
    async with asyncio.timeout(1):
        while transport.open_connections:  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.005)
    assert (await get(transport, server, method="POST", body=b"x")).body == b"ok"
    assert [[r.method for r in conn.requests] for conn in server.connections] == [
        ["GET"],
        ["POST"],
    ]


async def test_aclose_closes_idle_connections(serve, transport):
    server = await serve(lambda conn: conn.serve(OK))
    await get(transport, server)
    assert transport.open_connections == 1
    assert not server.connections[0].eof.is_set()
    await transport.aclose()
    assert transport.open_connections == 0
    await eof(server.connections[0])
