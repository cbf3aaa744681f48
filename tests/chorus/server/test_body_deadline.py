"""CHORUS["REQUEST_LIMITS"]'s body deadline: a stalled or crawling body is a 408, read before the door.

Against a real uvicorn on loopback with ChorusASGIHandler, over raw sockets: the
client sends a head that declares 1000 bytes, then some or none of them.
"""

import asyncio
import contextlib
import time

import orjson
import pytest

import chorus.server
from chorus.server import ChorusASGIHandler
from chorus.server._admission import admit
from chorus.server._limits import RequestLimits
from chorus.server._request_body import bodies_being_read, may_wait_for_body
from chorus.server._settings import get_server_settings
from chorus.server._settings import server_problems as problems
from tests.fixtures.uvicorn_server import serving

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")

HEAD = b"POST /echo/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"


def handler(settings, *, timeout=10, rate=100, grace=0.5, saturated=None, door=None):
    limits = {
        "BODY_TIMEOUT": timeout,
        "MIN_BODY_RATE": rate,
        "BODY_GRACE": grace,
        "SATURATED_BODY_READS": saturated,
    }
    settings.CHORUS = {"REQUEST_LIMITS": limits}
    if door is not None:
        settings.CHORUS["ADMISSION"] = {"MAX_IN_FLIGHT": door}
    return ChorusASGIHandler()


async def until(condition, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (the counters have no event to wait on)
            await asyncio.sleep(0.01)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def head_and_body(answer: bytes) -> tuple[bytes, bytes]:
    """The head (lower-cased) and the body, de-chunked when it was sent chunked (which
    depends on the middleware in front: one that sets Content-Length ends the chunking)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    head = head.lower()
    if b"transfer-encoding: chunked" not in head:
        return head, body
    whole = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        whole, body = whole + body[:size], body[size + 2 :]
    return head, whole


async def send_slowly(
    port: int, pieces: list[bytes], every: float, declared: int = 1000
) -> tuple[bytes, float]:
    """Declare ``declared`` bytes, send one piece every ``every`` seconds, read to EOF.

    Returns the whole answer and the seconds from the first byte sent to the
    connection's close (``wait_for`` fails the test if the server never closes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        writer.write(HEAD % declared)
        reading = asyncio.ensure_future(reader.read())
        for piece in pieces:
            if reading.done():
                break
            writer.write(piece)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            await asyncio.wait([reading], timeout=every)
        answer = await asyncio.wait_for(reading, 10)
        return answer, time.monotonic() - started
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def stall(port: int, path: str = "/echo/") -> asyncio.StreamWriter:
    """Issue 25's client: declares 1000 bytes, sends ten, and holds still."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".encode()
        + b"x" * 10
    )
    await writer.drain()
    return writer


async def get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        return await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_stalled_body_is_a_408_and_its_connection_closed_at_its_deadline(settings):
    # Ten bytes at 100 bytes a second after 0.5 s of grace: due 0.6 s in, far before BODY_TIMEOUT.
    async with serving(handler(settings, timeout=10, rate=100, grace=0.5)) as port:
        answer, seconds = await send_slowly(port, [b"x" * 10], every=30)
        await until(lambda: bodies_being_read() == 0)
    head, body = head_and_body(answer)
    assert status_of(answer) == 408
    assert b"\r\nconnection: close" in head
    assert b"\r\ncontent-type: application/json" in head
    assert orjson.loads(body)["error"]["code"] == "request_timeout"
    assert 0.55 <= seconds < 3  # the server closed it: read() saw EOF


async def test_a_body_that_keeps_coming_but_too_slowly_is_a_408(settings):
    # 5 bytes every 0.1 s is 50 bytes a second: it falls behind 200 a second about 0.27 s in.
    async with serving(handler(settings, timeout=10, rate=200, grace=0.2)) as port:
        answer, seconds = await send_slowly(port, [b"x" * 5] * 200, every=0.1)
    assert status_of(answer) == 408
    assert seconds < 3


async def test_no_body_outlasts_the_timeout_however_steady(settings):
    # 20 bytes every 0.1 s keeps well above 10 bytes a second; 2000 bytes would take 10 s.
    async with serving(handler(settings, timeout=1, rate=10, grace=0)) as port:
        answer, seconds = await send_slowly(port, [b"x" * 20] * 100, every=0.1)
    assert status_of(answer) == 408
    assert 0.95 <= seconds < 3
    assert b"within 1 s" in answer


async def test_a_slow_but_steady_body_above_the_minimum_rate_is_read(settings):
    # 50 bytes every 0.05 s (about 1000 a second) for 1 s, against a minimum of 200 a second.
    async with serving(handler(settings, timeout=10, rate=200, grace=0.2)) as port:
        answer, _ = await send_slowly(port, [b"x" * 50] * 20, every=0.05)
    assert status_of(answer) == 200, answer
    assert head_and_body(answer)[1] == b"1000"  # the view saw all 1000 bytes


async def test_stalled_bodies_hold_no_place_at_the_door(settings):
    """Issue 25: 20 stalled bodies against a door of 2 places; a GET still answers at once."""
    app = handler(settings, timeout=30, rate=100, grace=20, door=2)
    async with serving(app) as port:
        stalled = [await stall(port) for _ in range(20)]
        try:
            await until(lambda: bodies_being_read() == 20)
            assert chorus.server.admission_state() == chorus.server.AdmissionState(2, 0, 0)
            answer = await asyncio.wait_for(get(port, "/plain/"), 1)
            assert status_of(answer) == 200
            assert chorus.server.saturation() is None  # SATURATED_BODY_READS is None here
        finally:
            for writer in stalled:
                writer.close()
        # The clients left: their reads end, nothing is left counted.
        await until(lambda: bodies_being_read() == 0)


async def test_too_many_bodies_being_read_is_saturation(settings):
    async with serving(handler(settings, timeout=30, rate=100, grace=20, saturated=3)) as port:
        stalled = [await stall(port) for _ in range(2)]
        try:
            await until(lambda: bodies_being_read() == 2)
            assert chorus.server.saturation() is None
            stalled.append(await stall(port))
            await until(lambda: chorus.server.saturation() is not None)
            assert chorus.server.saturation() == "3 request bodies being read (saturated at 3)"
        finally:
            for writer in stalled:
                writer.close()
        await until(lambda: chorus.server.saturation() is None)


async def test_a_full_door_with_someone_waiting_is_saturation(settings):
    settings.CHORUS = {"ADMISSION": {"MAX_IN_FLIGHT": 1}}
    admission = get_server_settings().admission
    first = await admit(admission, "/a/")
    assert chorus.server.saturation() is None  # full, but nobody waits
    second = asyncio.ensure_future(admit(admission, "/b/"))
    await until(lambda: chorus.server.admission_state().waiting == 1)
    assert chorus.server.saturation() == "1 requests waiting at the door (1 in flight, limit 1)"
    assert first is not None
    first.release()
    slot = await second
    assert chorus.server.saturation() is None
    assert slot is not None
    slot.release()


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"BODY_TIMEOUT": 0}, "BODY_TIMEOUT"),
        ({"BODY_TIMEOUT": None}, "BODY_TIMEOUT"),
        ({"BODY_TIMEOUT": "30"}, "BODY_TIMEOUT"),
        ({"BODY_TIMEOUT": 86400}, "BODY_TIMEOUT"),
        ({"MIN_BODY_RATE": 0}, "MIN_BODY_RATE"),
        ({"MIN_BODY_RATE": True}, "MIN_BODY_RATE"),
        ({"BODY_GRACE": -1}, "BODY_GRACE"),
        ({"BODY_GRACE": float("nan")}, "BODY_GRACE"),
        ({"SATURATED_BODY_READS": 0}, "SATURATED_BODY_READS"),
        ({"SATURATED_BODY_READS": 2.5}, "SATURATED_BODY_READS"),
    ],
)
def test_a_bad_deadline_is_a_system_check_error(limits, named):
    found = [p for p in problems({"REQUEST_LIMITS": limits}) if p.id == "chorus.E013"]
    assert len(found) == 1
    assert named in found[0].message


def test_the_deadline_has_bounded_defaults_and_takes_its_settings():
    assert problems({"REQUEST_LIMITS": {}}) == []
    good = {"BODY_TIMEOUT": 60, "MIN_BODY_RATE": None, "BODY_GRACE": 0, "SATURATED_BODY_READS": 1}
    assert problems({"REQUEST_LIMITS": good}) == []
    default = RequestLimits().body_deadline
    assert (default.timeout, default.min_rate, default.grace) == (30.0, 1024, 5.0)


@pytest.mark.parametrize(
    ("version", "headers", "may_wait"),
    [
        ("1.1", [], False),  # HTTP/1 without a length or chunking has no body
        ("1.0", [(b"content-length", b"0")], False),
        ("1.1", [(b"content-length", b"12")], True),
        ("1.1", [(b"transfer-encoding", b"chunked")], True),
        ("2", [], True),  # an HTTP/2 stream may still send data frames
    ],
)
def test_only_a_request_that_can_have_a_body_is_read_under_the_deadline(version, headers, may_wait):
    scope = {"type": "http", "http_version": version, "headers": headers}
    assert may_wait_for_body(scope) is may_wait
