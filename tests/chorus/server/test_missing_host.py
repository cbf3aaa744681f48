"""An HTTP/1.1 request without a ``Host`` header is a 400 (RFC 9112 §3.2; issue 25, point 8).

End to end: raw bytes on a socket to a real uvicorn serving ``ChorusASGIHandler``.
Without the check, Django falls back on the server's own address for the host,
and the request is answered as if the client had named it.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest

from tests.fixtures.uvicorn_server import serving

pytestmark = pytest.mark.urls("tests.chorus.support.plain_urls")


async def _exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """The head and body of the answer to ``request`` (sent with ``Connection: close``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()  # until the server closes
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


async def test_an_http_1_1_request_without_host_is_a_400(chorus_app):
    async with serving(chorus_app) as port:
        head, body = await _exchange(port, b"GET /ping/ HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in head.lower()
    assert orjson.loads(body) == {
        "error": {
            "code": "missing_host",
            "message": "An HTTP/1.1 request must have a Host header (RFC 9112, section 3.2).",
        }
    }


async def test_an_http_1_1_request_with_host_is_answered(chorus_app):
    async with serving(chorus_app) as port:
        head, body = await _exchange(
            port, b"GET /ping/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"pong" in body  # chunked or not, as uvicorn frames it


async def test_an_http_1_0_request_may_leave_host_out(chorus_app):
    async with serving(chorus_app) as port:
        head, body = await _exchange(port, b"GET /ping/ HTTP/1.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"pong" in body  # chunked or not, as uvicorn frames it
