"""Open streams and their credentials, in one process: signals end them at once, the re-check
ends them without any signal, one re-check is a few queries whatever the number of streams,
and nothing stays watched once the streams are gone.

Cross-process behaviour (the CLI, another worker) is in test_revocation_processes.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chorus.streams import EventLog
from storefront.access.keys import create_key, digest
from storefront.access.models import ApiKey
from storefront.live import lapsed, revocation
from tests.storefront.live.support.sse import Frame, frames, take_events
from tests.storefront.support.server import serving_storefront


@pytest.fixture
async def base_url(live_backend: EventLog) -> AsyncIterator[str]:
    async with serving_storefront() as url:
        yield url


async def _until_end(events: AsyncIterator[Frame], within: float) -> tuple[list[Frame], float]:
    """The events of an open stream until the server ends it, and how long that took."""
    started = time.monotonic()
    received: list[Frame] = []
    async with asyncio.timeout(within):
        async for frame in events:
            if frame.comment is None:
                received.append(frame)
    return received, time.monotonic() - started


def _revoke_key(headers: dict[str, str], *, with_signals: bool) -> None:
    key = ApiKey.objects.get(digest=digest(headers["authorization"].removeprefix("Bearer ")))
    if with_signals:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    else:  # update(): no signal, as another process's change looks from here
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


@pytest.mark.live_settings(RECHECK_INTERVAL=5)
async def test_a_key_revoked_in_this_process_ends_its_stream_at_once(
    base_url: str, api_key: dict[str, str]
) -> None:
    other, _ = await sync_to_async(create_key)(name="other", scope="read")
    async with (
        httpx.AsyncClient(base_url=base_url, headers=api_key, timeout=10) as client,
        client.stream("GET", "/api/live/") as response,
        client.stream("GET", "/api/live/", headers={"authorization": f"Bearer {other}"}) as kept,
    ):
        kept_frames = frames(kept)
        await take_events(kept_frames, 1)
        events = frames(response)
        await take_events(events, 1)
        await sync_to_async(_revoke_key)(api_key, with_signals=True)
        received, took = await _until_end(events, 4)
        assert took < 2  # the signal, not the 5 s re-check
        assert revocation.watched_count() == 1  # the other key's stream, still open
    assert received[-1].event == "revoked"
    assert received[-1].json()["reason"] == "api_key_revoked"


@pytest.mark.live_settings(RECHECK_INTERVAL=0.2)
async def test_without_any_signal_the_recheck_ends_the_stream(
    base_url: str, api_key: dict[str, str]
) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, headers=api_key, timeout=10) as client,
        client.stream("GET", "/api/live/") as response,
    ):
        events = frames(response)
        await take_events(events, 1)
        await sync_to_async(_revoke_key)(api_key, with_signals=False)
        received, _ = await _until_end(events, 3)
        # And a new stream with the key is refused, though the key cache still held it.
        assert (await client.get("/api/live/")).status_code == 401
    assert received[-1].json()["reason"] == "api_key_revoked"


def _end_session(cookie: str, how: str) -> None:
    session_key = cookie.partition("=")[2]
    user = get_user_model().objects.get(username="staff")
    if how == "expired":
        Session.objects.filter(session_key=session_key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
    elif how == "deleted":
        Session.objects.get(session_key=session_key).delete()
    elif how == "deactivated":
        user.is_active = False
        user.save()
    elif how == "not_staff":
        get_user_model().objects.filter(pk=user.pk).update(is_staff=False)


@pytest.mark.live_settings(RECHECK_INTERVAL=0.2)
@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("expired", "session_expired"),
        ("deleted", "logged_out"),
        ("deactivated", "user_deactivated"),
        ("not_staff", "staff_revoked"),
    ],
)
async def test_a_staff_stream_ends_with_the_reason_its_session_or_user_lapsed(
    base_url: str, staff_cookie: str, how: str, reason: str
) -> None:
    async with (
        httpx.AsyncClient(base_url=base_url, headers={"cookie": staff_cookie}) as browser,
        browser.stream("GET", "/api/live/") as response,
    ):
        events = frames(response)
        await take_events(events, 1)
        await sync_to_async(_end_session)(staff_cookie, how)
        received, _ = await _until_end(events, 3)
    assert (received[-1].event, received[-1].json()["reason"]) == ("revoked", reason)


async def test_streams_that_close_are_no_longer_watched(
    base_url: str, api_key: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=api_key, timeout=10) as client:
        for _ in range(3):
            async with client.stream("GET", "/api/live/") as response:
                await take_events(frames(response), 1)
                assert revocation.watched_count() == 1
    async with asyncio.timeout(3):
        while revocation.watched_count():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.mark.django_db
def test_one_recheck_is_at_most_three_queries_however_many_streams() -> None:
    names: list[lapsed.Name] = [("key", n) for n in range(200)]
    names += [("user", n) for n in range(100)]
    names += [("session", f"s{n}") for n in range(100)]
    with CaptureQueriesContext(connection) as queries:
        ended = lapsed.lapsed(names)
    assert len(queries) == 3
    # None of them exists: every one has lapsed, each with its own reason.
    assert {reason for _, reason in ended} == {"api_key_revoked", "user_deactivated", "logged_out"}
    assert len(ended) == 400
