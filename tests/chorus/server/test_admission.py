"""CHORUS["ADMISSION"]: at most MAX_IN_FLIGHT requests handled at once, the rest wait in order.

Against a real uvicorn on loopback with ChorusASGIHandler, over real sockets.
"""

import asyncio
import contextlib

import pytest

import chorus
from chorus.server import ChorusASGIHandler
from chorus.server._admission import _Door
from chorus.server._admission_settings import Admission
from chorus.server._settings import server_problems as problems
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
        await until(lambda: chorus.server.admission_state().waiting == 3)
        await asyncio.sleep(0.1)  # time for a third request to get in, were the door open
        assert len(gate.entered) == 2
        assert chorus.server.admission_state() == chorus.server.AdmissionState(2, 2, 3)
        gate.opened.set()
        answers = await asyncio.gather(*requests)
    assert all(a.startswith(b"HTTP/1.1 200 ") and b"done" in body(a) for a in answers)
    assert sorted(gate.entered) == ["0", "1", "2", "3", "4"]
    assert chorus.server.admission_state() == chorus.server.AdmissionState(2, 0, 0)


async def test_the_door_admits_in_arrival_order(settings, gate):
    async with serving(door(settings, 1)) as port:
        requests = []
        for n in range(6):
            requests.append(asyncio.create_task(get(port, f"/held/?n={n}")))
            await until(lambda n=n: chorus.server.admission_state().waiting == n)  # the first is in
        gate.opened.set()
        await asyncio.gather(*requests)
    assert gate.entered == ["0", "1", "2", "3", "4", "5"]


async def test_an_exempt_path_never_waits(settings, gate):
    async with serving(door(settings, 1)) as port:
        holding = asyncio.create_task(get(port, "/held/"))
        waiting = asyncio.create_task(get(port, "/plain/"))
        await until(lambda: chorus.server.admission_state().waiting == 1)
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
    assert chorus.server.admission_state().in_flight == 0


async def test_without_a_limit_every_request_is_handled_at_once(settings, gate):
    settings.CHORUS = {}
    async with serving(ChorusASGIHandler()) as port:
        requests = [asyncio.create_task(get(port, f"/held/?n={n}")) for n in range(8)]
        await until(lambda: len(gate.entered) == 8)
        assert chorus.server.admission_state() == chorus.server.AdmissionState(None, 0, 0)
        gate.opened.set()
        await asyncio.gather(*requests)


def adaptive(settings, ceiling, floor, lag):
    settings.CHORUS = {
        "ADMISSION": {"MAX_IN_FLIGHT": ceiling, "MIN_IN_FLIGHT": floor, "TARGET_LAG": lag}
    }
    return ChorusASGIHandler()


async def test_an_adaptive_limit_comes_down_when_the_loop_lags(settings, gate):
    async with serving(adaptive(settings, 40, 2, 0.005)) as port:
        answers = await asyncio.gather(*(get(port, "/busy/") for _ in range(80)))
        state = chorus.server.admission_state()
    assert all(b"busy" in body(a) for a in answers)
    # Each waiter ran 20 ms of other requests' CPU after its place was handed over.
    assert 2 <= state.limit < 40
    assert (state.in_flight, state.waiting) == (0, 0)


async def test_an_adaptive_limit_comes_down_with_nobody_waiting_too(settings, gate):
    async with serving(adaptive(settings, 100, 2, 0.005)) as port:
        # Fewer requests than the limit: all go straight in, and each times a turn of the loop.
        answers = await asyncio.gather(*(get(port, "/busy/") for _ in range(30)))
        state = chorus.server.admission_state()
    assert all(b"busy" in body(a) for a in answers)
    assert state.limit < 100


async def test_an_adaptive_limit_stays_up_while_the_loop_keeps_up(settings, gate):
    async with serving(adaptive(settings, 20, 2, 0.05)) as port:
        answers = await asyncio.gather(*(get(port, "/napping/") for _ in range(60)))
        state = chorus.server.admission_state()
    assert all(b"napped" in body(a) for a in answers)
    assert state.limit == 20
    assert gate.most_inside == 20  # the door let the ceiling in, and no more


async def test_a_request_cancelled_while_waiting_takes_no_place():
    door = _Door(Admission(max_in_flight=1, min_in_flight=1))
    await door.enter()
    waiting = asyncio.create_task(door.enter())
    await asyncio.sleep(0)
    waiting.cancel()
    door.leave()  # before the cancelled waiter has run: the hand-over must pass it by
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (door.in_flight, len(door.queue)) == (0, 0)
    await asyncio.wait_for(door.enter(), 1)  # the place is free
    assert door.in_flight == 1


async def test_a_place_handed_to_a_request_cancelled_before_it_ran_is_passed_on():
    door = _Door(Admission(max_in_flight=1, min_in_flight=1))
    await door.enter()
    first = asyncio.create_task(door.enter())
    second = asyncio.create_task(door.enter())
    await asyncio.sleep(0)
    door.leave()  # hands the place to the first waiter ...
    first.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the place went on to the next in line
    assert (door.in_flight, len(door.queue)) == (1, 0)


@pytest.mark.parametrize(
    ("admission", "message"),
    [
        ({"MAX_IN_FLIGHT": 0}, "MAX_IN_FLIGHT must be a positive integer or None"),
        ({"MAX_IN_FLIGHT": True}, "MAX_IN_FLIGHT must be a positive integer or None"),
        ({"MAX_IN_FLIGHT": 8, "EXEMPT": "/healthz"}, "EXEMPT must be a list"),
        ({"MAX_IN_FLIGHT": 8, "EXEMPT": ["healthz"]}, "must start with '/'"),
        ({"LIMIT": 8}, "unknown keys: LIMIT"),
        ({"MAX_IN_FLIGHT": 8, "MIN_IN_FLIGHT": 9}, "must not be over MAX_IN_FLIGHT"),
        ({"MAX_IN_FLIGHT": 8, "MIN_IN_FLIGHT": 0}, "MIN_IN_FLIGHT must be a positive integer"),
        ({"MAX_IN_FLIGHT": 8, "TARGET_LAG": 0}, "TARGET_LAG must be a positive number"),
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
    adaptive = {"MAX_IN_FLIGHT": 256, "MIN_IN_FLIGHT": 16, "TARGET_LAG": 0.01}
    assert problems({"ADMISSION": adaptive}) == []
