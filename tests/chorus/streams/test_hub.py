"""One reader per worker fans every event out to every viewer, once, in order.

Every test runs over an in-memory log (``tests.chorus.support.memory_log``) and
over chorus's ``RedisStreamLog`` on a stream of its own (skipped without
``REDIS_URL``, required in CI).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chorus.streams import EventLog, Hub, LiveEvent, Overflow, Ready, Reset
from tests.chorus.support.memory_log import MemoryLog

WAIT = 5.0
BACKLOG = 10_000


@pytest.fixture(params=["memory", "redis"])
def make_log(request: pytest.FixtureRequest) -> Iterator[Callable[..., EventLog]]:
    """``make_log(backlog=...)``: a fresh, empty log of the parametrized kind."""
    made: list[Any] = []

    def make(*, backlog: int = BACKLOG) -> EventLog:
        if request.param == "memory":
            return MemoryLog(backlog=backlog)
        from chorus.streams import RedisStreamLog

        url = request.getfixturevalue("redis_url")
        log = RedisStreamLog(url, stream=f"tests:chorus:live:{uuid.uuid4().hex}", backlog=backlog)
        made.append(log)
        return log

    yield make
    for log in made:
        client = log._sync_client()
        client.delete(log.stream)
        client.close()


@pytest.fixture
def live_backend(make_log: Callable[..., EventLog]) -> EventLog:
    return make_log()


async def _take(items: AsyncIterator[object], count: int) -> list[Any]:
    taken = []
    async with asyncio.timeout(WAIT):
        async for item in items:
            taken.append(item)
            if len(taken) == count:
                break
    return taken


async def _publish(backend: EventLog, count: int, kind: str = "test.step") -> list[str]:
    return [await sync_to_async(backend.publish)(kind, {"n": n}) for n in range(count)]


async def test_every_viewer_gets_every_event_once_in_order(live_backend: EventLog) -> None:
    hub = Hub(live_backend)
    async with aclosing(hub.subscribe()) as first, aclosing(hub.subscribe()) as second:
        assert isinstance(await anext(first), Ready)
        assert isinstance(await anext(second), Ready)
        ids = await _publish(live_backend, 20)
        for viewer in (first, second):
            events = await _take(viewer, 20)
            assert [event.id for event in events] == ids
    assert hub.viewer_count == 0


async def test_many_viewers_share_one_reader(
    live_backend: EventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = Hub(live_backend)
    readers_made = 0
    make_reader = live_backend.reader

    def counting_reader() -> Any:
        nonlocal readers_made
        readers_made += 1
        return make_reader()

    monkeypatch.setattr(live_backend, "reader", counting_reader)
    viewers = [hub.subscribe() for _ in range(50)]
    try:
        for viewer in viewers:
            assert isinstance(await anext(viewer), Ready)
        [event_id] = await _publish(live_backend, 1)
        for viewer in viewers:
            [event] = await _take(viewer, 1)
            assert event.id == event_id
        assert readers_made == 1
    finally:
        for viewer in viewers:
            await viewer.aclose()


async def test_a_resuming_viewer_gets_what_it_missed_then_new_events(
    live_backend: EventLog,
) -> None:
    hub = Hub(live_backend)
    ids = await _publish(live_backend, 6)
    async with aclosing(hub.subscribe(after=ids[1])) as viewer:
        ready = await anext(viewer)
        assert ready == Ready(ids[1])
        replayed = await _take(viewer, 4)
        later = await _publish(live_backend, 3)
        new = await _take(viewer, 3)
    assert [event.id for event in replayed + new] == ids[2:] + later


async def test_replay_and_live_delivery_overlapping_give_no_duplicates(
    live_backend: EventLog,
) -> None:
    hub = Hub(live_backend)
    async with aclosing(hub.subscribe()) as watcher:
        start = (await anext(watcher)).last_event_id
        publishing = asyncio.create_task(_publish(live_backend, 40))
        try:
            async with aclosing(hub.subscribe(after=start)) as resumer:
                await anext(resumer)
                await asyncio.sleep(0.05)  # let the reader and the replay race
                received = await _take(resumer, 40)
        finally:
            ids = await publishing
    assert [event.id for event in received] == ids


async def test_a_viewer_older_than_the_backlog_is_told_to_reset(
    make_log: Callable[..., EventLog],
) -> None:
    live_backend = make_log(backlog=3)
    hub = Hub(live_backend)
    [first] = await _publish(live_backend, 1)
    await _publish(live_backend, 250)  # Redis trims approximately: publish well past it
    async with aclosing(hub.subscribe(after=first)) as viewer:
        reset = await anext(viewer)
        assert reset == Reset(first)
        assert isinstance(await anext(viewer), Ready)


async def test_a_slow_viewer_is_cut_off_with_overflow(live_backend: EventLog) -> None:
    hub = Hub(live_backend)
    async with aclosing(hub.subscribe(limit=5)) as slow, aclosing(hub.subscribe()) as fast:
        await anext(slow)
        await anext(fast)
        ids = await _publish(live_backend, 12)
        events = await _take(fast, 12)  # the fast one keeps up while the slow one waits
        assert [event.id for event in events] == ids
        items = await _take(slow, 1)
    assert items == [Overflow(5)]


async def test_the_reader_stops_when_the_last_viewer_leaves(live_backend: EventLog) -> None:
    hub = Hub(live_backend)
    tasks_before = asyncio.all_tasks()
    viewer = hub.subscribe()
    assert isinstance(await anext(viewer), Ready)
    assert hub.running
    await viewer.aclose()
    assert not hub.running
    assert asyncio.all_tasks() == tasks_before


async def test_events_are_live_events_with_kind_and_data(live_backend: EventLog) -> None:
    hub = Hub(live_backend)
    async with aclosing(hub.subscribe()) as viewer:
        await anext(viewer)
        await sync_to_async(live_backend.publish)("order.created", {"id": 7})
        [event] = await _take(viewer, 1)
    assert isinstance(event, LiveEvent)
    assert (event.kind, dict(event.data)) == ("order.created", {"id": 7})
