"""``/ws/live/`` under a real uvicorn: the same events and access rules as ``/api/live/``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import websockets
from asgiref.sync import sync_to_async
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection, connect

from chorus.streams import EventLog
from storefront.live.backends import get_hub
from tests.storefront.support.server import serving_storefront

WAIT = 5.0


@pytest.fixture
async def ws_url(live_backend: EventLog) -> AsyncIterator[str]:
    async with serving_storefront() as url:
        yield url.replace("http://", "ws://") + "/ws/live/"


async def _receive(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(WAIT):
        return [orjson.loads(await socket.recv()) for _ in range(count)]


async def test_a_published_event_arrives_as_one_json_message(
    ws_url: str, api_key: dict[str, str], live_backend: EventLog
) -> None:
    async with connect(ws_url, additional_headers=api_key) as socket:
        [ready] = await _receive(socket, 1)
        assert ready["event"] == "ready"
        event_id = await sync_to_async(live_backend.publish)("order.created", {"id": 3})
        [message] = await _receive(socket, 1)
    assert message == {"id": event_id, "event": "order.created", "data": {"id": 3}}


async def test_last_event_id_in_the_query_replays_what_was_missed(
    ws_url: str, api_key: dict[str, str], live_backend: EventLog
) -> None:
    ids = [await sync_to_async(live_backend.publish)("test.step", {"n": n}) for n in range(4)]
    async with connect(f"{ws_url}?last_event_id={ids[0]}", additional_headers=api_key) as socket:
        ready, *replayed = await _receive(socket, 4)
    assert ready["data"] == {"last_event_id": ids[0]}
    assert [message["id"] for message in replayed] == ids[1:]


async def test_without_credentials_the_handshake_is_refused(ws_url: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(ws_url):
            pass
    assert refused.value.response.status_code == 403


async def test_a_bad_api_key_is_refused(ws_url: str, transactional_db: None) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(ws_url, additional_headers={"X-API-Key": "not-a-key"}):
            pass
    assert refused.value.response.status_code == 403


async def test_a_staff_session_from_the_page_origin_may_watch(
    ws_url: str, staff_cookie: str
) -> None:
    origin = ws_url.replace("ws://", "http://").removesuffix("/ws/live/")
    headers = {"cookie": staff_cookie, "origin": origin}
    async with connect(ws_url, additional_headers=headers) as socket:
        [ready] = await _receive(socket, 1)
    assert ready["event"] == "ready"


async def test_a_staff_session_from_another_origin_is_refused(
    ws_url: str, staff_cookie: str
) -> None:
    headers = {"cookie": staff_cookie, "origin": "https://evil.example"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(ws_url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403


async def test_a_closed_socket_leaves_no_reader_behind(
    ws_url: str, api_key: dict[str, str]
) -> None:
    async with connect(ws_url, additional_headers=api_key) as socket:
        await _receive(socket, 1)
        hub = get_hub()
        assert hub.viewer_count == 1
    for _ in range(500):  # up to 5 s for the server to see the close
        if not (hub.running or hub.viewer_count):
            break
        await asyncio.sleep(0.01)
    assert not hub.running
    assert hub.viewer_count == 0


def _viewers() -> float:
    labels = {"route": "/ws/live/", "transport": "websocket"}
    return REGISTRY.get_sample_value("chorus_streams_open", labels) or 0.0


async def test_an_open_socket_is_counted_as_a_viewer_until_it_closes(
    ws_url: str, api_key: dict[str, str]
) -> None:
    before = _viewers()
    async with connect(ws_url, additional_headers=api_key) as socket:
        await _receive(socket, 1)
        assert _viewers() == before + 1
    for _ in range(500):  # up to 5 s for the server to see the close
        if _viewers() == before:
            break
        await asyncio.sleep(0.01)
    assert _viewers() == before


def _revoke(headers: dict[str, str]) -> None:
    from django.utils import timezone

    from storefront.access.keys import digest
    from storefront.access.models import ApiKey

    plaintext = headers["authorization"].removeprefix("Bearer ")
    api_key = ApiKey.objects.get(digest=digest(plaintext))
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])


async def test_revoking_a_key_closes_its_sockets_with_4003_and_no_other(
    ws_url: str, api_key: dict[str, str], live_backend: EventLog
) -> None:
    from storefront.access.keys import create_key

    other_key, _ = await sync_to_async(create_key)(name="other", scope="read")
    async with (
        connect(ws_url, additional_headers=api_key) as revoked,
        connect(ws_url, additional_headers={"x-api-key": other_key}) as kept,
    ):
        await _receive(revoked, 1)
        await _receive(kept, 1)
        await sync_to_async(_revoke)(api_key)  # through the channel layer, after the commit
        async with asyncio.timeout(WAIT):
            last = orjson.loads(await revoked.recv())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await revoked.recv()
        assert (last["id"], last["event"]) == (None, "revoked")
        assert last["data"]["reason"] == "api_key_revoked"
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4003, "api_key_revoked")
        event_id = await sync_to_async(live_backend.publish)("order.created", {"id": 4})
        [message] = await _receive(kept, 1)
        assert message["id"] == event_id
