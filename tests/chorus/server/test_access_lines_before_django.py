"""What ChorusASGIHandler answers itself still gets its access line, as nginx would log it.

A request refused on its headers, a body too large or too slow, and a client that
leaves while its body is read never reach the middleware; with ``RequestIDMiddleware``
installed, the handler writes their ``chorus.request`` lines (a client gone: 499).
Against a real uvicorn on loopback, over raw sockets.
"""

import asyncio
import contextlib
import logging

import pytest

from chorus.server import ChorusASGIHandler
from tests.fixtures.uvicorn_server import serving

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")


def handler(settings, *, middleware=("chorus.server.RequestIDMiddleware",)):
    settings.MIDDLEWARE = list(middleware)
    settings.CHORUS = {
        "REQUEST_LIMITS": {"MAX_BODY_BYTES": 100, "BODY_TIMEOUT": 0.5, "MIN_BODY_RATE": None}
    }
    return ChorusASGIHandler()


async def exchange(port: int, raw: bytes, *, then_leave: bool = False) -> bytes:
    """Send ``raw``; read the answer to EOF, or close at once when ``then_leave``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        if then_leave:
            await asyncio.sleep(0.1)  # the head is in and its body is being read
            return b""
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def access_lines(caplog, expected: int, seconds: float = 5.0) -> list[logging.LogRecord]:
    """The ``chorus.request`` records, once ``expected`` of them are in (the line of a client
    gone is written after the server notices it left)."""
    async with asyncio.timeout(seconds):
        while True:
            records = [r for r in caplog.records if r.name == "chorus.request"]
            if len(records) >= expected:
                return records
            await asyncio.sleep(0.01)


async def test_a_body_over_its_limit_refused_on_its_length_gets_a_413_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    async with serving(handler(settings)) as port:
        answer = await exchange(
            port,
            b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: upload-1\r\n"
            b"Content-Length: 5000\r\n\r\n",
        )
        [record] = await access_lines(caplog, 1)
    assert answer.startswith(b"HTTP/1.1 413")
    message = record.getMessage()
    assert "method=POST path=/echo/ status=413" in message
    assert "request_id=upload-1" in message  # the client's own id, as the middleware keeps it
    assert record.http_status == 413
    assert record.http_route is None  # never routed


async def test_a_request_without_host_gets_its_400_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    async with serving(handler(settings)) as port:
        answer = await exchange(port, b"GET /plain/ HTTP/1.1\r\nConnection: close\r\n\r\n")
        [record] = await access_lines(caplog, 1)
    assert answer.startswith(b"HTTP/1.1 400")
    assert "method=GET path=/plain/ status=400" in record.getMessage()


async def test_a_stalled_body_gets_a_408_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    async with serving(handler(settings)) as port:
        answer = await exchange(
            port, b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\nten bytes!"
        )
        [record] = await access_lines(caplog, 1)
    assert answer.startswith(b"HTTP/1.1 408")
    assert "path=/echo/ status=408" in record.getMessage()


async def test_a_client_that_leaves_while_its_body_is_read_gets_a_499_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    async with serving(handler(settings)) as port:
        await exchange(
            port,
            b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\nten bytes!",
            then_leave=True,
        )
        [record] = await access_lines(caplog, 1)
    assert "method=POST path=/echo/ status=499" in record.getMessage()
    assert record.http_status == 499


async def test_without_the_request_id_middleware_the_handler_writes_no_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    async with serving(handler(settings, middleware=())) as port:
        answer = await exchange(
            port, b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.1 413")
    assert [r for r in caplog.records if r.name == "chorus.request"] == []


async def test_a_request_that_reaches_django_still_gets_exactly_one_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    async with serving(handler(settings)) as port:
        answer = await exchange(
            port, b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi"
        )
        await asyncio.sleep(0.1)  # a second line would be written by now
    assert answer.startswith(b"HTTP/1.1 200")
    [record] = [r for r in caplog.records if r.name == "chorus.request"]
    assert "path=/echo/ status=200" in record.getMessage()
