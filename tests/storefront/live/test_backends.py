"""Both backends keep an ordered, bounded backlog and say when a viewer can no longer resume."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chorus.streams import EventLog


async def _publish(backend: EventLog, kind: str, data: dict[str, Any]) -> str:
    return await sync_to_async(backend.publish)(kind, data)


async def test_events_are_read_back_in_publish_order(live_backend: EventLog) -> None:
    reader = live_backend.reader()
    try:
        start = await reader.latest_id()
        ids = [await _publish(live_backend, "test.step", {"n": n}) for n in range(5)]
        events = await reader.read_after(start, limit=100, wait=0)
    finally:
        await reader.aclose()
    assert [event.id for event in events] == ids
    assert [event.data["n"] for event in events] == [0, 1, 2, 3, 4]
    assert [event.kind for event in events] == ["test.step"] * 5


async def test_money_is_published_as_its_exact_string(live_backend: EventLog) -> None:
    from decimal import Decimal

    reader = live_backend.reader()
    try:
        start = await reader.latest_id()
        await _publish(live_backend, "test.money", {"total": Decimal("10.10")})
        [event] = await reader.read_after(start, limit=10, wait=0)
    finally:
        await reader.aclose()
    assert event.data == {"total": "10.10"}


async def test_a_viewer_within_the_backlog_can_resume(live_backend: EventLog) -> None:
    reader = live_backend.reader()
    try:
        first = await _publish(live_backend, "test.step", {})
        await _publish(live_backend, "test.step", {})
        assert await reader.can_resume(first)
    finally:
        await reader.aclose()


@pytest.mark.live_settings(BACKLOG=3)
async def test_a_viewer_older_than_the_backlog_cannot_resume(live_backend: EventLog) -> None:
    reader = live_backend.reader()
    try:
        first = await _publish(live_backend, "test.step", {})
        # The database trims every 100th id, Redis trims approximately: publish well past both.
        for _ in range(250):
            await _publish(live_backend, "test.step", {})
        assert not await reader.can_resume(first)
    finally:
        await reader.aclose()


async def test_an_id_from_the_future_cannot_resume(live_backend: EventLog) -> None:
    reader = live_backend.reader()
    try:
        latest = await _publish(live_backend, "test.step", {})
        future = str(int(latest) + 1000) if latest.isdigit() else "99999999999999-0"
        assert not await reader.can_resume(future)
    finally:
        await reader.aclose()


def test_an_id_of_another_shape_is_refused(live_backend: EventLog) -> None:
    with pytest.raises(ValueError, match="not an event id"):
        live_backend.sort_key("12; DROP TABLE")


async def test_an_emptied_event_table_still_starts_after_the_last_issued_id(
    live_backend: EventLog, live_backend_name: str
) -> None:
    if live_backend_name != "database":
        pytest.skip("the event table is the database backend's")
    from storefront.live.models import StoredEvent

    last = await _publish(live_backend, "test.step", {})
    await StoredEvent.objects.all().adelete()
    reader = live_backend.reader()
    try:
        assert await reader.latest_id() == last
        assert await reader.can_resume(last)
    finally:
        await reader.aclose()
