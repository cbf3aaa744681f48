"""Real processes: two storefront workers and a writer, on SQLite + the database bus and on
PostgreSQL + Redis. Every viewer on both workers gets every event once, in order; a viewer
that reconnects with Last-Event-ID misses nothing; a viewer that leaves leaves nothing open.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
import redis

from tests.fixtures.ports import free_port
from tests.storefront.live.support.sse import Frame, frames, take_events

ROOT = Path(__file__).resolve().parents[3]
EVENTS = 40

pytestmark = pytest.mark.timeout(120)


@dataclass
class Deployment:
    env: dict[str, str]
    api_key: str

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout.strip()

    def write(self, code: str) -> None:
        """A separate writer process: Django set up as a task worker or the shell would be."""
        self.manage("shell", "--no-imports", "-c", code)


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "STOREFRONT_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    for name in ("DATABASE_URL", "REDIS_URL", "STOREFRONT_LIVE_BACKEND"):
        env.pop(name, None)
    # The workers' key cache would otherwise keep a key for 30 s; nothing here revokes keys.
    env["STOREFRONT_LIVE_POLL_INTERVAL"] = "0.05"
    return env


@pytest.fixture(params=["sqlite+database", "postgres+redis"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    env = _base_env(tmp_path)
    cleanups = []
    if request.param == "postgres+redis":
        server_url = request.getfixturevalue("postgres_url")
        redis_url = request.getfixturevalue("redis_url")
        name = f"live_procs_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        stream = f"tests:live:{uuid.uuid4().hex}"
        env |= {
            "DATABASE_URL": server_url.rsplit("/", 1)[0] + f"/{name}",
            "REDIS_URL": redis_url,
            "STOREFRONT_LIVE_STREAM": stream,
        }

        def drop() -> None:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            client = redis.Redis.from_url(redis_url)
            client.delete(stream)
            client.close()

        cleanups.append(drop)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        key = Deployment(env, "").manage("api_key", "create", "--name", "live", "--scope", "read")
        yield Deployment(env, key)
    finally:
        for cleanup in cleanups:
            cleanup()


@pytest.fixture
def workers(deployment: Deployment) -> Iterator[list[tuple[str, int]]]:
    """Two storefront worker processes; yields (base URL, pid) for each."""
    started = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "storefront.asgi:application",
                 "--port", str(port), "--loop", "uvloop", "--http", "httptools",
                 "--log-level", "warning"],
                cwd=ROOT, env=deployment.env,
            )  # fmt: skip
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, url in started:
            deadline = time.monotonic() + 60  # two Django starts on a busy machine
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, "a worker exited at start"
                    assert time.monotonic() < deadline, "a worker did not start"
                    time.sleep(0.1)
        yield [(url, process.pid) for process, url in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            process.wait(timeout=20)


class Viewer:
    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client, self.url = client, url
        self.events: list[Frame] = []

    async def open(self, stack: AsyncExitStack, last_event_id: str | None = None) -> Frame:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        response = await stack.enter_async_context(
            self.client.stream("GET", f"{self.url}/api/live/", headers=headers)
        )
        assert response.status_code == 200
        self.stream: AsyncIterator[Frame] = frames(response)
        [ready] = await take_events(self.stream, 1, within=10)
        assert ready.event == "ready"
        return ready

    async def receive(self, count: int) -> list[Frame]:
        received = await take_events(self.stream, count, within=20)
        self.events.extend(received)
        return received


PUBLISH = (
    "from storefront import live\n"
    "for n in range({start}, {stop}): live.publish('test.step', {{'n': n}})\n"
)


async def _write(deployment: Deployment, start: int, stop: int) -> None:
    await asyncio.to_thread(deployment.write, PUBLISH.format(start=start, stop=stop))


async def test_every_viewer_on_both_workers_gets_every_event_once_in_order(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    async with (
        httpx.AsyncClient(headers={"X-API-Key": deployment.api_key}, timeout=30) as client,
        AsyncExitStack() as stack,
    ):
        viewers = [Viewer(client, url) for url, _ in workers for _ in range(2)]
        for viewer in viewers:
            await viewer.open(stack)
        await _write(deployment, 0, EVENTS)
        received = await asyncio.gather(*(viewer.receive(EVENTS) for viewer in viewers))
    for events in received:
        assert [frame.json()["n"] for frame in events] == list(range(EVENTS))
        assert [frame.id for frame in events] == [frame.id for frame in received[0]]


async def test_an_order_changed_in_another_process_reaches_both_workers(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    async with (
        httpx.AsyncClient(headers={"X-API-Key": deployment.api_key}, timeout=30) as client,
        AsyncExitStack() as stack,
    ):
        viewers = [Viewer(client, url) for url, _ in workers]
        for viewer in viewers:
            await viewer.open(stack)
        code = (
            "from storefront.orders.models import Customer, Order\n"
            "c = Customer.objects.create(name='Grace', email='grace@example.com')\n"
            "o = Order.objects.create(customer=c, total='5.00')\n"
            "o.status = 'paid'; o.save()\n"
        )
        await asyncio.to_thread(deployment.write, code)
        received = await asyncio.gather(*(viewer.receive(2) for viewer in viewers))
    for events in received:
        assert [frame.event for frame in events] == ["order.created", "order.status_changed"]
        assert events[0].json()["customer"]["name"] == "Grace"


async def test_a_viewer_reconnecting_to_the_other_worker_misses_nothing(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    (first_url, _), (second_url, _) = workers
    async with httpx.AsyncClient(headers={"X-API-Key": deployment.api_key}, timeout=30) as client:
        viewer = Viewer(client, first_url)
        async with AsyncExitStack() as stack:
            await viewer.open(stack)
            await _write(deployment, 0, 10)
            await viewer.receive(10)
        await _write(deployment, 10, 20)  # published while it is away
        viewer.url = second_url
        async with AsyncExitStack() as stack:
            await viewer.open(stack, last_event_id=viewer.events[-1].id)
            await viewer.receive(10)
    assert [frame.json()["n"] for frame in viewer.events] == list(range(20))


def _open_sockets(pid: int) -> int:
    return len(psutil.Process(pid).net_connections(kind="inet"))


async def test_viewers_share_one_reader_and_leave_no_socket_behind(
    deployment: Deployment, workers: list[tuple[str, int]]
) -> None:
    url, pid = workers[0]
    async with httpx.AsyncClient(headers={"X-API-Key": deployment.api_key}, timeout=30) as client:
        # A first visit opens what a worker keeps for good (its Redis pool, the listener).
        async with AsyncExitStack() as stack:
            await Viewer(client, url).open(stack)
        await asyncio.sleep(0.5)
        baseline = _open_sockets(pid)
        async with AsyncExitStack() as stack:
            # Kept in a list: a dropped reader would be closed by the garbage collector.
            viewers = [Viewer(client, url) for _ in range(20)]
            for viewer in viewers:
                await viewer.open(stack)
            during = _open_sockets(pid)
        for _ in range(100):  # up to 10 s for the worker to notice and close
            if _open_sockets(pid) <= baseline:
                break
            await asyncio.sleep(0.1)
    assert during >= baseline + 20  # the viewers' own connections were counted
    # ...and next to them at most the hub's one reader connection (and one spare), not one each.
    assert during <= baseline + 20 + 2
    assert _open_sockets(pid) <= baseline
