"""CHORUS["ADMISSION"]: at most MAX_IN_FLIGHT requests handled at once, the rest wait in order.

The door against a real uvicorn on loopback with ChorusASGIHandler, over real sockets;
its queue driven on a clock of the test's own (the controller: test_admission_controller.py).
"""

import asyncio
import contextlib
import time

import pytest

import chorus
from chorus.server import ChorusASGIHandler
from chorus.server._admission import Overloaded, _Door
from chorus.server._admission_settings import Admission
from chorus.server._settings import server_problems as problems
from tests.chorus.server.test_admission_controller import ADAPTIVE
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


def standing_door(settings, limit):
    """A door whose queue stands after 50 ms of waits and cuts them at 200 ms."""
    settings.CHORUS = {
        "ADMISSION": {
            "MAX_IN_FLIGHT": limit,
            "QUEUE_TARGET": 0.05,
            "MAX_WAIT": 0.2,
            "INTERVAL": 0.05,
        }
    }
    return ChorusASGIHandler()


async def test_a_burst_queues_at_the_door_and_is_served_once_it_drains(settings, gate):
    async with serving(door(settings, 2)) as port:
        requests = [asyncio.create_task(get(port, f"/held/?n={n}")) for n in range(10)]
        await until(lambda: chorus.server.admission_state().waiting == 8)
        gate.opened.set()  # well before MAX_WAIT (5 s): the queue drains, nobody is cut
        answers = await asyncio.gather(*requests)
    assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers)
    assert sorted(gate.entered) == [str(n) for n in range(10)]


async def test_waits_at_a_standing_queue_are_cut_short_with_a_503(settings, gate):
    async with serving(standing_door(settings, 1)) as port:
        holding = asyncio.create_task(get(port, "/held/?n=in"))
        await until(lambda: gate.entered == ["in"])
        cut = await asyncio.gather(*(get(port, f"/held/?n={n}") for n in range(3)))
        gate.opened.set()
        assert (await holding).startswith(b"HTTP/1.1 200 ")
    for answer in cut:
        head = answer.partition(b"\r\n\r\n")[0].lower()
        assert head.startswith(b"http/1.1 503 ")
        assert b"\r\nretry-after: 1" in head
        assert b"overloaded" in body(answer)
    assert gate.entered == ["in"]  # the cut requests never reached a view


async def test_without_a_limit_every_request_is_handled_at_once(settings, gate):
    settings.CHORUS = {}
    async with serving(ChorusASGIHandler()) as port:
        requests = [asyncio.create_task(get(port, f"/held/?n={n}")) for n in range(8)]
        await until(lambda: len(gate.entered) == 8)
        assert chorus.server.admission_state() == chorus.server.AdmissionState(None, 0, 0)
        gate.opened.set()
        await asyncio.gather(*requests)


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


# The door on a clock of the test's own.


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def queue_up(door, count):
    waiters = [asyncio.create_task(door.enter()) for _ in range(count)]
    await asyncio.sleep(0)  # each is in the queue
    return waiters


async def test_at_a_standing_queue_the_waits_past_max_wait_are_answered_overloaded():
    clock = Clock()
    door = _Door(Admission(max_in_flight=1, min_in_flight=1, queue_target=0.5, max_wait=2.0), clock)
    await door.enter()
    old = await queue_up(door, 2)
    clock.now = 1.5
    young = await queue_up(door, 1)
    clock.now = 2.0  # the queue's head has waited 2 s, and nobody was handed a place
    door._tick(clock.now)
    for waiter in old:
        with pytest.raises(Overloaded) as refused:
            await waiter
        assert refused.value.retry_after == 2
    assert not young[0].done()
    assert (door.in_flight, len(door.queue)) == (1, 1)
    door.leave()
    await young[0]  # the younger waiter still gets its place


async def test_a_queue_that_does_not_stand_cuts_no_wait_however_long():
    clock = Clock()
    door = _Door(Admission(max_in_flight=1, min_in_flight=1, queue_target=0.5, max_wait=2.0), clock)
    await door.enter()
    waiters = await queue_up(door, 2)
    door.control.waited(0.01)  # a short wait in this interval: the queue drained lately
    clock.now = 30.0
    door._tick(clock.now)
    assert not door.control.standing
    assert not any(w.done() for w in waiters)
    door.leave()
    door.leave()
    await asyncio.gather(*waiters)


async def test_a_rising_limit_hands_places_to_the_waiters():
    clock = Clock()
    door = _Door(ADAPTIVE, clock)
    door.control.limit = 16
    door.in_flight = 16
    waiters = await queue_up(door, 3)
    door.control.lag(0.001)
    clock.now = 0.1
    door._tick(clock.now)
    await asyncio.gather(*waiters)
    assert (door.limit, door.in_flight, len(door.queue)) == (20, 19, 0)


async def test_a_request_let_straight_in_has_a_turn_of_the_loop_timed_without_waiting_it():
    door = _Door(ADAPTIVE)
    entering = door.enter()
    with pytest.raises(StopIteration):
        entering.send(None)  # in at once: no await suspended the request
    assert door.in_flight == 1
    held_until = time.perf_counter() + 0.03
    while time.perf_counter() < held_until:
        pass  # this turn runs long: the turn timed is late by it
    await asyncio.sleep(0.001)
    assert 0.03 <= door.control.min_lag < 1.0
    assert not door.sampling
    door.leave()


async def test_while_a_queue_waits_the_doors_timer_times_the_loop():
    # Hand-overs come when requests end, in bursts; the timer also sees the idle loop.
    # Its turns every 50 ms; targets wide enough for a loaded test machine.
    admission = Admission(max_in_flight=256, min_in_flight=16, loop_target=0.05, interval=0.5)
    door = _Door(admission)
    door.control.limit = door.in_flight = 1
    waiters = await queue_up(door, 1)
    try:
        await asyncio.sleep(0.16)  # about three of the timer's turns, on an idle loop
        assert door.control.min_lag < admission.loop_target
        door.control.min_lag = float("inf")
        held_until = time.perf_counter() + 0.12
        while time.perf_counter() < held_until:
            pass  # the loop held, as a long turn would: the timer fires late
        await asyncio.sleep(0.001)
        assert admission.loop_target < door.control.min_lag < 1.0
    finally:
        door.leave()
        await asyncio.gather(*waiters)
        door.leave()
        if door.timer is not None:
            door.timer.cancel()


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
        ({"MAX_IN_FLIGHT": 8, "TARGET_LAG": 0.01}, "TARGET_LAG was replaced by LOOP_TARGET"),
        ({"MAX_IN_FLIGHT": 8, "LOOP_TARGET": 0}, "LOOP_TARGET must be a number of seconds over 0"),
        ({"MAX_IN_FLIGHT": 8, "LOOP_TARGET": 2}, "LOOP_TARGET must be a number of seconds"),
        ({"MAX_IN_FLIGHT": 8, "QUEUE_TARGET": "1"}, "QUEUE_TARGET must be a number of seconds"),
        ({"MAX_IN_FLIGHT": 8, "MAX_WAIT": float("inf")}, "MAX_WAIT must be a number of seconds"),
        ({"MAX_IN_FLIGHT": 8, "INTERVAL": 0.0001}, "INTERVAL must be a number of seconds"),
        ({"MAX_IN_FLIGHT": 8, "QUEUE_TARGET": 2, "MAX_WAIT": 1}, "must not be under QUEUE_TARGET"),
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
    adaptive = {
        "MAX_IN_FLIGHT": 256,
        "MIN_IN_FLIGHT": 16,
        "LOOP_TARGET": 0.005,
        "QUEUE_TARGET": 0.5,
        "MAX_WAIT": 5,
        "INTERVAL": 0.1,
    }
    assert problems({"ADMISSION": adaptive}) == []
