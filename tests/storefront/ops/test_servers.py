"""gunicorn (two storefront workers) and daphne as real processes against the simulator: the
dashboard's JSON, both event streams, and a clean, prompt exit on SIGTERM with a stream open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fixtures.ports import free_port
from tests.storefront.live.support.sse import Frame, frames, take_events
from tests.storefront.ops.servers import VENV_BIN, api_key, gunicorn_command, production_env, serve


def daphne_command(port: int) -> list[str]:
    return [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port),
            "storefront.asgi:application"]  # fmt: skip


async def rest_of(stream: httpx.Response) -> list[Frame]:
    """Every frame until the server ends the stream (or 10 s pass)."""
    collected = []
    async with asyncio.timeout(10):
        async for frame in frames(stream):
            if frame.comment is None:
                collected.append(frame)
    return collected


async def events_until_closed(stream: AsyncIterator[Frame]) -> list[Frame]:
    """The events a stream sends until it ends, cleanly or cut off (daphne cuts streams)."""
    collected = []
    try:
        async for frame in stream:
            if frame.comment is None:
                collected.append(frame)
    except httpx.RemoteProtocolError:
        pass
    return collected


@pytest.mark.parametrize("server_name", ["gunicorn", "daphne"])
async def test_the_server_serves_the_dashboard_and_streams_and_stops_cleanly(
    server_name, simulator, tmp_path
):
    port = free_port()
    env = production_env(
        simulator,
        tmp_path,
        STOREFRONT_BIND=f"127.0.0.1:{port}",
        STOREFRONT_WORKERS="2",
        STOREFRONT_GRACEFUL_TIMEOUT="6",
        LOG_LEVEL="WARNING",
    )
    command = gunicorn_command() if server_name == "gunicorn" else daphne_command(port)
    headers = {"X-API-Key": api_key(env)}
    with serve(command, env, port) as server:
        async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=10) as client:
            dashboard = await client.get("/api/dashboard/")
            assert dashboard.status_code == 200
            body = dashboard.json()
            assert body["complete"] is True
            assert set(body["sources"]) >= {"inventory", "notifications", "analytics"}

            async with client.stream("GET", "/api/events/?count=3&interval=0.05") as demo:
                assert demo.headers["content-type"].startswith("text/event-stream")
                steps = await rest_of(demo)
            assert [frame.event for frame in steps] == ["step"] * 3

            async with client.stream("GET", "/api/live/") as live:
                assert (await take_events(frames(live), 1))[0].event == "ready"

            # SIGTERM with a stream open: the server still exits cleanly and in time.
            async with client.stream("GET", "/api/events/?count=1000&interval=0.2") as endless:
                stream = frames(endless)
                await take_events(stream, 1)
                exiting = asyncio.create_task(asyncio.to_thread(server.terminate_and_wait, 20))
                ends = await events_until_closed(stream)
                code, took = await exiting
    assert code == 0
    assert took < 6 + 2
    if server_name == "gunicorn":  # storefront's worker drains: a final event, then the end
        assert ends[-1].event == "shutdown"
    # daphne has no drain step: SIGTERM cancels the application and drops the connection
    # (docs/deploy.md says so; EventSource reconnects after the error all the same).
    assert "Traceback" not in server.output
