"""Smoke test: daphne serves storefront's ASGI application, SSE and WebSocket alike."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.fixtures.ports import free_port
from tests.storefront.live.support.sse import frames, take_events

ROOT = Path(__file__).resolve().parents[3]


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def daphne_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], str]]:
    """Daphne serving storefront on SQLite; yields its base URL, environment and a read key."""
    env = {**os.environ, "STOREFRONT_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    _manage(env, "migrate", "--verbosity", "0")
    key = _manage(env, "api_key", "create", "--name", "daphne", "--scope", "read")
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "storefront.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert daphne.poll() is None, "daphne exited at start"
                assert time.monotonic() < deadline, "daphne did not start"
                time.sleep(0.1)
        yield base, env, key
    finally:
        daphne.terminate()
        output, _ = daphne.communicate(timeout=20)
    assert "Traceback" not in output


async def test_daphne_serves_live_events_over_sse_and_websocket(
    daphne_server: tuple[str, dict[str, str], str],
) -> None:
    base, env, key = daphne_server
    headers = {"X-API-Key": key}
    async with (
        httpx.AsyncClient(headers=headers, timeout=10) as client,
        client.stream("GET", f"{base}/api/live/") as response,
        connect(base.replace("http", "ws") + "/ws/live/", additional_headers=headers) as socket,
    ):
        sse = frames(response)
        assert (await take_events(sse, 1))[0].event == "ready"
        assert orjson.loads(await socket.recv())["event"] == "ready"
        code = "from storefront import live; live.publish('test.hello', {'from': 'writer'})"
        await asyncio.to_thread(_manage, env, "shell", "--no-imports", "-c", code)
        [event] = await take_events(sse, 1, within=10)
        async with asyncio.timeout(10):
            message = orjson.loads(await socket.recv())
    assert (event.event, event.json()) == ("test.hello", {"from": "writer"})
    assert message["event"] == "test.hello"
    assert message["id"] == event.id
