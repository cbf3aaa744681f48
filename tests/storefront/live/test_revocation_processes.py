"""Real processes: a credential that lapses in one process ends its open streams on every worker.

Two uvicorn workers and, for each change, a separate process (``manage.py
api_key revoke``, a logout served by the other worker, a user saved inactive in
the shell): no process but the one making the change hears a signal, so what
ends the streams elsewhere is each worker's re-check (``storefront/live/revocation.py``),
on SQLite alone (no Redis, no shared channel layer) and on PostgreSQL + Redis.
Each stream must end with its reason within 5 s of the change being committed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tests.storefront.live.support.sse import Frame, frames, take_events
from tests.storefront.live.test_processes import Deployment, deployment, workers

__all__ = ["deployment", "workers"]

pytestmark = pytest.mark.timeout(180)

WITHIN = 5.0


class SseViewer:
    """An open ``/api/live/`` stream, read in the background until it ends."""

    def __init__(self, events: AsyncIterator[Frame]) -> None:
        self.frames: list[Frame] = []
        self.ended_at: float | None = None
        self._task = asyncio.create_task(self._read(events))

    async def _read(self, events: AsyncIterator[Frame]) -> None:
        try:
            async for frame in events:
                if frame.comment is None:
                    self.frames.append(frame)
        finally:
            self.ended_at = time.monotonic()

    async def ended(self, within: float) -> list[Frame]:
        async with asyncio.timeout(within):
            await asyncio.shield(self._task)
        return self.frames


async def open_sse(
    stack: AsyncExitStack, client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> SseViewer:
    response = await stack.enter_async_context(
        client.stream("GET", f"{url}/api/live/", headers=headers)
    )
    assert response.status_code == 200
    events = frames(response)
    [ready] = await take_events(events, 1, within=10)
    assert ready.event == "ready"
    viewer = SseViewer(events)
    stack.push_async_callback(_cancel, viewer)
    return viewer


async def _cancel(viewer: SseViewer) -> None:
    viewer._task.cancel()
    await asyncio.wait({viewer._task})


async def open_socket(stack: AsyncExitStack, url: str, headers: dict[str, str]) -> ClientConnection:
    socket = await stack.enter_async_context(
        connect(url.replace("http", "ws", 1) + "/ws/live/", additional_headers=headers)
    )
    async with asyncio.timeout(10):
        assert orjson.loads(await socket.recv())["event"] == "ready"
    return socket


async def socket_end(socket: ClientConnection, within: float) -> tuple[list[Any], int, str]:
    """The messages a socket got until the server closed it, the close code and reason."""
    messages: list[Any] = []

    async def receive_all() -> None:
        while True:
            messages.append(orjson.loads(await socket.recv()))

    async with asyncio.timeout(within):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive_all()
    assert closed.value.rcvd is not None, "the server did not close the socket"
    return messages, closed.value.rcvd.code, closed.value.rcvd.reason


async def in_process(deployment: Deployment, *args: str) -> float:
    """Run ``manage.py *args`` in a process of its own; the time it finished (after its commit)."""
    await asyncio.to_thread(deployment.manage, *args)
    return time.monotonic()


def assert_revoked(frames: list[Frame], reason: str) -> None:
    last = frames[-1]
    assert (last.event, last.id) == ("revoked", None), [f.event for f in frames]
    assert last.json()["reason"] == reason
    assert last.json()["message"]


async def test_a_key_revoked_by_the_cli_ends_its_streams_and_sockets_on_every_worker(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    (first, _), (second, _) = workers
    revoked = {"X-API-Key": deployment.api_key}
    other_key = deployment.manage("api_key", "create", "--name", "kept", "--scope", "read")
    kept = {"X-API-Key": other_key}
    async with httpx.AsyncClient(timeout=30) as client, AsyncExitStack() as stack:
        on_first = await open_sse(stack, client, first, revoked)
        on_second = await open_sse(stack, client, second, revoked)
        socket = await open_socket(stack, second, revoked)
        still_open = await open_sse(stack, client, first, kept)
        kept_socket = await open_socket(stack, first, kept)

        done = await in_process(deployment, "api_key", "revoke", deployment.api_key[:8])

        for viewer in (on_first, on_second):
            assert_revoked(await viewer.ended(WITHIN), "api_key_revoked")
            assert viewer.ended_at is not None
            assert viewer.ended_at - done <= WITHIN
        messages, code, reason = await socket_end(socket, WITHIN)
        assert (messages[-1]["event"], messages[-1]["data"]["reason"]) == (
            "revoked",
            "api_key_revoked",
        )
        assert (code, reason) == (4003, "api_key_revoked")
        assert time.monotonic() - done <= WITHIN + 0.5

        # The other key's stream and socket go on, and get what is published next.
        await asyncio.to_thread(
            deployment.write, "from storefront import live; live.publish('test.after', {})"
        )
        async with asyncio.timeout(20):
            assert orjson.loads(await kept_socket.recv())["event"] == "test.after"
            while not any(f.event == "test.after" for f in still_open.frames):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert still_open.ended_at is None
    # And the revoked key opens nothing new.
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(f"{first}/api/live/", headers=revoked)).status_code == 401


STAFF = (
    "from django.conf import settings\n"
    "from django.contrib.auth import get_user_model\n"
    "from django.test import Client\n"
    "user = get_user_model().objects.create_user({name!r}, password='pw-for-tests-only', "
    "is_staff=True)\n"
    "client = Client()\n"
    "client.force_login(user)\n"
    "print(client.cookies[settings.SESSION_COOKIE_NAME].value)\n"
)


def staff_session(deployment: Deployment, name: str) -> str:
    """A logged-in staff user's session key, made in a process of its own."""
    return deployment.manage("shell", "--no-imports", "-c", STAFF.format(name=name))


def session_headers(url: str, session_key: str, **extra: str) -> dict[str, str]:
    return {"cookie": f"sessionid={session_key}", "origin": url, **extra}


async def log_out(client: httpx.AsyncClient, url: str, session_key: str) -> float:
    """Log out through ``url``'s worker, as the page's button does (POST with the CSRF token)."""
    page = await client.get(f"{url}/login/", headers=session_headers(url, session_key))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    csrf_cookie = page.cookies["csrftoken"]
    response = await client.post(
        f"{url}/logout/",
        data={"csrfmiddlewaretoken": token.group(1)},
        headers=session_headers(
            url, session_key, cookie=f"sessionid={session_key}; csrftoken={csrf_cookie}"
        ),
    )
    assert response.status_code in (200, 302), response.text[:300]
    return time.monotonic()


async def test_a_staff_logout_on_one_worker_ends_that_sessions_streams_on_every_worker(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    (first, _), (second, _) = workers
    leaving = await asyncio.to_thread(staff_session, deployment, "leaving")
    staying = await asyncio.to_thread(staff_session, deployment, "staying")
    async with httpx.AsyncClient(timeout=30) as client, AsyncExitStack() as stack:
        on_first = await open_sse(stack, client, first, session_headers(first, leaving))
        on_second = await open_sse(stack, client, second, session_headers(second, leaving))
        socket = await open_socket(stack, first, session_headers(first, leaving))
        other = await open_sse(stack, client, first, session_headers(first, staying))

        done = await log_out(client, second, leaving)

        for viewer in (on_first, on_second):
            assert_revoked(await viewer.ended(WITHIN), "logged_out")
            assert viewer.ended_at is not None
            assert viewer.ended_at - done <= WITHIN
        messages, code, reason = await socket_end(socket, WITHIN)
        assert messages[-1]["data"]["reason"] == "logged_out"
        assert (code, reason) == (4003, "logged_out")
        await asyncio.sleep(1.5)  # a re-check or more later, the other session's stream goes on
        assert other.ended_at is None


async def test_a_user_deactivated_in_another_process_loses_every_stream(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    (first, _), (second, _) = workers
    session = await asyncio.to_thread(staff_session, deployment, "leaver")
    async with httpx.AsyncClient(timeout=30) as client, AsyncExitStack() as stack:
        on_first = await open_sse(stack, client, first, session_headers(first, session))
        socket = await open_socket(stack, second, session_headers(second, session))

        code = (
            "from django.contrib.auth import get_user_model\n"
            "user = get_user_model().objects.get(username='leaver')\n"
            "user.is_active = False\n"
            "user.save()\n"
        )
        done = await in_process(deployment, "shell", "--no-imports", "-c", code)

        assert_revoked(await on_first.ended(WITHIN), "user_deactivated")
        assert on_first.ended_at is not None
        assert on_first.ended_at - done <= WITHIN
        messages, close_code, reason = await socket_end(socket, WITHIN)
        assert messages[-1]["data"]["reason"] == "user_deactivated"
        assert (close_code, reason) == (4003, "user_deactivated")
