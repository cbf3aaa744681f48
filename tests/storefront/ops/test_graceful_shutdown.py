"""SIGTERM to a real gunicorn (storefront's worker): streams end with a final event, WebSockets
close with 1012, the request in flight completes, pools close, and the exit is clean and in time."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.fixtures.ports import free_port
from tests.storefront.live.support.sse import frames, take_events
from tests.storefront.ops.servers import api_key, gunicorn_command, production_env, serve

GRACEFUL_TIMEOUT = 6


async def close_code(socket: ClientConnection) -> int | None:
    """Read until the server closes the socket; the close code it sent."""
    try:
        async with asyncio.timeout(5):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code


@pytest.fixture(autouse=True)
def _reset_faults(simulator):
    yield
    simulator.reset()


async def test_sigterm_drains_streams_and_finishes_requests_in_flight(simulator, tmp_path):
    port = free_port()
    env = production_env(
        simulator,
        tmp_path,
        # With REDIS_URL (CI's services run), live events come through Redis Streams: the
        # worker's blocking reader must end with its streams.
        keep_redis=True,
        STOREFRONT_BIND=f"127.0.0.1:{port}",
        STOREFRONT_WORKERS="1",
        STOREFRONT_GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT),
        # The request in flight waits 450 ms on inventory: room for a loaded machine beyond
        # that (the default 0.5 s per call left 50 ms, and CI once answered it 504).
        STOREFRONT_UPSTREAM_TIMEOUT="3",
        STOREFRONT_DEADLINE="4",
    )
    key = api_key(env)
    headers = {"X-API-Key": key}
    with serve(gunicorn_command(), env, port) as server:
        async with (
            httpx.AsyncClient(base_url=server.base, headers=headers, timeout=15) as client,
            client.stream("GET", "/api/live/") as live,
            connect(f"ws://127.0.0.1:{port}/ws/live/", additional_headers=headers) as socket,
        ):
            sse = frames(live)
            assert (await take_events(sse, 1))[0].event == "ready"
            assert "ready" in await socket.recv()
            # A request that is still waiting on its upstreams when the signal arrives.
            await simulator.aset_fault("inventory", latency_ms=450)
            in_flight = asyncio.create_task(client.get("/api/dashboard/"))
            await asyncio.sleep(0.2)
            assert not in_flight.done()
            signalled = time.monotonic()
            exit_task = asyncio.create_task(
                asyncio.to_thread(server.terminate_and_wait, GRACEFUL_TIMEOUT + 10)
            )

            [final] = await take_events(sse, 1, within=5)
            assert final.event == "shutdown"
            assert final.id is None  # Last-Event-ID stays at the last real event
            assert "reconnect" in final.json()["message"]
            with pytest.raises(StopAsyncIteration):
                await take_events(sse, 1, within=5)  # and the stream ends
            drained_after = time.monotonic() - signalled

            assert await close_code(socket) == 1012  # service restart: reconnect elsewhere

            dashboard = await in_flight
            assert dashboard.status_code == 200
            assert dashboard.json()["complete"] is True

            code, took = await exit_task
    assert code == 0
    assert drained_after < 2  # the streams ended at once, not at the graceful timeout
    assert took < GRACEFUL_TIMEOUT  # everything finished: nothing waited for the bound
    assert "closed the upstream connection pool" in server.output
    assert "Traceback" not in server.output
    assert "Unclosed" not in server.output
