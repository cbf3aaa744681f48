"""CHORUS["ADMISSION"]: at most MAX_IN_FLIGHT requests handled at once, the rest wait in order.

Against a real uvicorn on loopback with ChorusASGIHandler, over real sockets.
"""

import asyncio
import contextlib

import pytest

import chorus
from chorus.asgi import ChorusASGIHandler
from chorus.conf import problems
from tests.chorus.support import admission_urls
from tests.fixtures.uvicorn_server import serving

pytestmark = pytest.mark.urls("tests.chorus.support.admission_urls")


@pytest.fixture
def gate():
    admission_urls.gate = admission_urls.Gate()
    return admission_urls.gate


def door(settings, limit):
    settings.CHORUS = {"ADMISSION": {"MAX_IN_FLIGHT": limit, "EXEMPT": ["/probe/"]}}
    return ChorusASGIHandler()


async def get(port: int, path: str) -> bytes:
    """One request on its own connection; the whole answer, head and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def body(answer: bytes) -> bytes:
    """What follows the head (chunked or not: the tests look for a word in it)."""
    return answer.partition(b"\r\n\r\n")[2]


async def until(condition, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (the door has no event to wait on)
            await asyncio.sleep(0.01)


async def test_past_the_limit_requests_wait_at_the_door_then_all_complete(settings, gate):
    async with serving(door(settings, 2)) as port:
        requests = [asyncio.create_task(get(port, f"/held/?n={n}")) for n in range(5)]
        await until(lambda: chorus.admission_state().waiting == 3)
        await asyncio.sleep(0.1)  # time for a third request to get in, were the door open
        assert len(gate.entered) == 2
        assert chorus.admission_state() == chorus.AdmissionState(2, 2, 3)
        gate.opened.set()
        answers = await asyncio.gather(*requests)
    assert all(a.startswith(b"HTTP/1.1 200 ") and b"done" in body(a) for a in answers)
    assert sorted(gate.entered) == ["0", "1", "2", "3", "4"]
    assert chorus.admission_state() == chorus.AdmissionState(2, 0, 0)


async def test_the_door_admits_in_arrival_order(settings, gate):
    async with serving(door(settings, 1)) as port:
        requests = []
        for n in range(6):
            requests.append(asyncio.create_task(get(port, f"/held/?n={n}")))
            await until(lambda n=n: chorus.admission_state().waiting == n)  # the first is in
        gate.opened.set()
        await asyncio.gather(*requests)
    assert gate.entered == ["0", "1", "2", "3", "4", "5"]


async def test_an_exempt_path_never_waits(settings, gate):
    async with serving(door(settings, 1)) as port:
        holding = asyncio.create_task(get(port, "/held/"))
        waiting = asyncio.create_task(get(port, "/plain/"))
        await until(lambda: chorus.admission_state().waiting == 1)
        probe = await get(port, "/probe/")
        assert probe.startswith(b"HTTP/1.1 200 ")
        assert not waiting.done()  # the door is still shut for the others
        gate.opened.set()
        assert b"plain" in body(await waiting)
        await holding


async def test_a_streaming_response_gives_its_place_back_once_it_starts(settings, gate):
    async with serving(door(settings, 1)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert b"first," in await asyncio.wait_for(reader.readuntil(b"first,"), 5)
        # The stream is open and waiting; another request still gets in.
        assert b"plain" in body(await get(port, "/plain/"))
        gate.opened.set()
        assert b"last" in await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert chorus.admission_state().in_flight == 0


async def test_without_a_limit_every_request_is_handled_at_once(settings, gate):
    settings.CHORUS = {}
    async with serving(ChorusASGIHandler()) as port:
        requests = [asyncio.create_task(get(port, f"/held/?n={n}")) for n in range(8)]
        await until(lambda: len(gate.entered) == 8)
        assert chorus.admission_state() == chorus.AdmissionState(None, 0, 0)
        gate.opened.set()
        await asyncio.gather(*requests)


@pytest.mark.parametrize(
    ("admission", "message"),
    [
        ({"MAX_IN_FLIGHT": 0}, "MAX_IN_FLIGHT must be a positive integer or None"),
        ({"MAX_IN_FLIGHT": True}, "MAX_IN_FLIGHT must be a positive integer or None"),
        ({"MAX_IN_FLIGHT": 8, "EXEMPT": "/healthz"}, "EXEMPT must be a list"),
        ({"MAX_IN_FLIGHT": 8, "EXEMPT": ["healthz"]}, "must start with '/'"),
        ({"LIMIT": 8}, "unknown keys: LIMIT"),
        ([8], "must be a dict"),
    ],
)
def test_a_bad_setting_is_a_system_check_error(admission, message):
    found = problems({"ADMISSION": admission})
    assert [p.id for p in found] == ["chorus.E016"]
    assert message in found[0].message


def test_a_good_setting_has_no_problem():
    assert problems({"ADMISSION": {"MAX_IN_FLIGHT": 32, "EXEMPT": ["/healthz"]}}) == []
    assert problems({"ADMISSION": {"MAX_IN_FLIGHT": None}}) == []
