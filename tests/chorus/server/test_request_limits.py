"""CHORUS["REQUEST_LIMITS"]: refused on the scope, before the body is read."""

import asyncio
import contextlib

import pytest

from chorus.server import ChorusASGIHandler
from chorus.server._settings import server_problems as problems
from tests.fixtures.asgi import asgi_request
from tests.fixtures.uvicorn_server import serving

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")

LIMITS = {
    "MAX_BODY_BYTES": {"/": 1000, "/api/": 100, "/unbounded/": None},
    "MAX_HEADERS": 20,
    "MAX_HEADER_BYTES": 2000,
}


@pytest.fixture
def limited(settings):
    settings.CHORUS = {"REQUEST_LIMITS": LIMITS}
    return ChorusASGIHandler()


async def test_a_body_within_its_routes_limit_is_read(limited):
    response = await asgi_request(limited, "/echo/", method="POST", body=b"x" * 1000)
    assert response.status == 200
    assert response.body == b"1000"


async def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_read(limited):
    response = await asgi_request(
        limited, "/echo/", method="POST", headers={"content-length": "1001"}, body=b"x" * 1001
    )
    assert response.status == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "The body is over 1000 bytes."}
    }
    assert response.headers["connection"] == "close"
    assert response.body_messages_read == 0


async def test_the_longest_matching_prefix_sets_the_limit(limited):
    refused = await asgi_request(
        limited, "/api/echo/", method="POST", headers={"content-length": "101"}, body=b"x" * 101
    )
    assert refused.status == 413
    assert refused.json()["error"]["message"] == "The body is over 100 bytes."


async def test_a_chunked_body_is_cut_off_at_the_limit(limited):
    chunks = [b"x" * 60] * 10
    response = await asgi_request(limited, "/api/echo/", method="POST", chunks=chunks)
    assert response.status == 413
    # 60 + 60 passes 100: the third message is never asked for.
    assert response.body_messages_read == 2


async def test_a_chunked_body_within_the_limit_arrives_whole(limited):
    response = await asgi_request(limited, "/echo/", method="POST", chunks=[b"ab"] * 300)
    assert response.status == 200
    assert response.body == b"600"


async def test_too_many_header_lines_are_a_431(limited):
    headers = {f"x-filler-{n}": "1" for n in range(25)}
    response = await asgi_request(limited, "/echo/", headers=headers)
    assert response.status == 431
    assert response.json()["error"]["code"] == "headers_too_large"
    assert response.body_messages_read == 0


async def test_headers_over_the_byte_limit_are_a_431(limited):
    response = await asgi_request(limited, "/echo/", headers={"x-big": "y" * 2001})
    assert response.status == 431


async def test_a_content_length_that_is_not_a_number_is_a_400(limited):
    response = await asgi_request(
        limited, "/echo/", method="POST", headers={"content-length": "12abc"}
    )
    assert response.status == 400


async def test_a_prefix_set_to_none_has_no_limit_of_chorus(limited):
    response = await asgi_request(
        limited,
        "/unbounded/",
        method="POST",
        headers={"content-length": "5000"},
        body=b"x" * 5000,
    )
    assert response.status == 404  # no such view: the body was let through to Django


def test_bad_limits_are_reported():
    found = problems({"REQUEST_LIMITS": {"MAX_BODY_BYTES": {"api": -1}, "MAX_HEADERS": "many"}})
    messages = [p.message for p in found if p.id == "chorus.E013"]
    assert any("MAX_HEADERS" in m for m in messages)
    assert any("'api'" in m and "path" in m for m in messages)
    assert any("MAX_BODY_BYTES['api']" in m for m in messages)


async def _exchange(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_uvicorn_sends_no_100_continue_for_a_body_over_the_limit(limited):
    async with serving(limited) as port:
        answer = await _exchange(
            port,
            b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n"
            b"Expect: 100-continue\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer


async def test_uvicorn_continues_a_body_within_the_limit(limited):
    async with serving(limited) as port:
        answer = await _exchange(
            port,
            b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n"
            b"Expect: 100-continue\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 100 Continue")


async def test_uvicorn_refuses_a_one_megabyte_header(limited):
    async with serving(limited) as port:
        answer = await _exchange(
            port,
            b"GET /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 431 ")
