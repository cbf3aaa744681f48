"""The innermost link: what goes on the wire, what comes back as a ``Reply``, the bulkhead.

Every test sends through ``send`` itself to a raw loopback server that records
what it was sent.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.test import RequestFactory

import chorus
from chorus.engine._attempt import Attempt, Reply
from chorus.engine._request_context import request_id_var
from chorus.engine._send import send
from tests.fixtures.raw_server import Conn, RawServer, answer

JSON = "Content-Type: application/json"


@pytest.fixture
def svc(settings) -> Callable[..., chorus.UpstreamConfig]:
    """``svc(server, **entry)``: CHORUS with the one upstream "svc"; returns its config."""

    def configure(server: RawServer, **entry: Any) -> chorus.UpstreamConfig:
        settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": server.url, **entry}}}
        return chorus.get_settings().upstream("svc")

    return configure


def answering(data: bytes) -> Callable[[Conn], Any]:
    async def handle(conn: Conn) -> None:
        await conn.serve(data)

    return handle


async def one(upstream: chorus.UpstreamConfig, path: str = "/a", **options: Any) -> Reply:
    request = options.pop("request", None)
    async with asyncio.timeout(2):
        return await send(Attempt(chorus.call("svc", path, **options), upstream, request))


# -- on the wire ---------------------------------------------------------------------------


async def test_only_the_upstreams_forward_headers_are_forwarded(svc, serve):
    server = await serve(answering(answer(b"{}", "200 OK", JSON)))
    upstream = svc(server, FORWARD_HEADERS=["Accept-Language"])
    request = RequestFactory().get(
        "/", headers={"Accept-Language": "fr", "Authorization": "Bearer t", "X-Other": "1"}
    )
    await one(upstream, request=request)
    [seen] = server.requests
    assert seen.header("Accept-Language") == "fr"
    assert seen.header("Authorization") is None
    assert seen.header("X-Other") is None


async def test_a_forward_header_the_request_lacks_is_not_sent(svc, serve):
    server = await serve(answering(answer(b"{}", "200 OK", JSON)))
    upstream = svc(server, FORWARD_HEADERS=["Accept-Language"])
    await one(upstream, request=RequestFactory().get("/"))
    assert server.requests[0].header("Accept-Language") is None


async def test_a_forwarded_value_with_a_line_break_fails_the_call_and_sends_nothing(svc, serve):
    server = await serve(answering(answer(b"{}", "200 OK", JSON)))
    upstream = svc(server, FORWARD_HEADERS=["Accept-Language"])
    request = RequestFactory().get("/", headers={"Accept-Language": "fr\r\nInjected: 1"})
    with pytest.raises(chorus.UpstreamConnectionError, match="not a valid HTTP header"):
        await one(upstream, request=request)
    assert server.requests == []


async def test_the_request_id_is_sent_when_one_is_set(svc, serve):
    server = await serve(answering(answer(b"{}", "200 OK", JSON)))
    upstream = svc(server)
    token = request_id_var.set("req-123")
    try:
        await one(upstream)
    finally:
        request_id_var.reset(token)
    assert server.requests[0].header("X-Request-ID") == "req-123"


async def test_no_request_id_header_is_sent_outside_a_request(svc, serve):
    server = await serve(answering(answer(b"{}", "200 OK", JSON)))
    upstream = svc(server)
    await one(upstream)
    assert server.requests[0].header("X-Request-ID") is None


async def test_a_json_body_is_sent_as_json(svc, serve):
    server = await serve(answering(answer(b"{}", "200 OK", JSON)))
    upstream = svc(server)
    await one(upstream, method="POST", json={"n": 1})
    [seen] = server.requests
    assert (seen.method, seen.body) == ("POST", b'{"n":1}')
    assert seen.header("Content-Type") == "application/json"


# -- what comes back -----------------------------------------------------------------------


async def test_a_json_answer_is_parsed(svc, serve):
    server = await serve(answering(answer(b'{"items": [1, 2]}', "200 OK", JSON)))
    reply = await one(svc(server))
    assert (reply.status, reply.data, reply.attempts) == (200, {"items": [1, 2]}, 1)
    assert reply.raw == b'{"items": [1, 2]}'  # kept, to embed without encoding it again


async def test_an_empty_answer_is_none(svc, serve):
    server = await serve(answering(answer(b"", "204 No Content")))
    reply = await one(svc(server))
    assert (reply.status, reply.data) == (204, None)


async def test_a_body_that_is_not_json_is_a_bad_body(svc, serve):
    server = await serve(answering(answer(b"<html>oops</html>", "200 OK")))
    with pytest.raises(chorus.UpstreamBodyError) as caught:
        await one(svc(server))
    assert caught.value.message == "body is not valid JSON"
    assert caught.value.status == 200


async def test_a_body_over_max_body_bytes_is_a_bad_body(svc, serve):
    server = await serve(answering(answer(b"[" + b"1," * 600 + b"1]", "200 OK", JSON)))
    with pytest.raises(chorus.UpstreamBodyError) as caught:
        await one(svc(server, MAX_BODY_BYTES=1024))
    assert caught.value.message == "body larger than 1024 bytes"


async def test_a_non_2xx_is_a_status_error_without_the_upstreams_text(svc, serve):
    secret = b'{"error": "db password is hunter2"}'
    server = await serve(answering(answer(secret, "500 Internal Server Error", JSON)))
    with pytest.raises(chorus.UpstreamStatusError) as caught:
        await one(svc(server))
    assert caught.value.status == 500
    assert caught.value.message == "upstream answered HTTP 500"
    assert "hunter2" not in str(caught.value)


async def test_nothing_listening_is_a_connection_error(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": f"http://127.0.0.1:{port}"}}}
    with pytest.raises(chorus.UpstreamConnectionError):
        await one(chorus.get_settings().upstream("svc"))


# -- the bulkhead --------------------------------------------------------------------------


class Concurrency:
    """A handler that holds each request a moment and records how many were in at once."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    async def __call__(self, conn: Conn) -> None:
        while await conn.read_request() is not None:
            self.now += 1
            self.peak = max(self.peak, self.now)
            await asyncio.sleep(0.05)
            self.now -= 1
            await conn.send(answer(b"{}", "200 OK", JSON))


async def test_at_most_max_connections_requests_are_in_flight_per_upstream(svc, serve):
    seen = Concurrency()
    server = await serve(seen)
    upstream = svc(server, MAX_CONNECTIONS=2)
    replies = await asyncio.gather(*(one(upstream, f"/{n}") for n in range(6)))
    assert all(reply.status == 200 for reply in replies)
    assert seen.peak == 2
    assert len(server.requests) == 6


async def test_each_upstream_has_a_bulkhead_of_its_own(settings, serve):
    seen = Concurrency()
    server = await serve(seen)
    entry = {"BASE_URL": server.url, "MAX_CONNECTIONS": 1}
    settings.CHORUS = {"UPSTREAMS": {"one": entry, "two": entry}}
    upstreams = [chorus.get_settings().upstream(name) for name in ("one", "two")]
    calls = [
        send(Attempt(chorus.call(upstream.name, f"/{n}"), upstream))
        for upstream in upstreams
        for n in range(2)
    ]
    async with asyncio.timeout(2):
        await asyncio.gather(*calls)
    assert seen.peak == 2  # one from each upstream at a time
