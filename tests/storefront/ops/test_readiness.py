"""``GET /readyz``: every configured part is asked for real; a 503 names the failing one."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import orjson
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chorus.server import ChorusASGIHandler
from chorus.server._admission import admit
from chorus.server._settings import get_server_settings
from storefront.images.models import WorkerHeartbeat
from storefront.images.workers import beat
from storefront.ops.readiness import NotReady
from tests.fixtures.asgi import asgi_request
from tests.fixtures.uvicorn_server import serving
from upstreams.server import bind_socket

DATABASE = "storefront.ops.readiness.database"
REDIS = "storefront.ops.readiness.redis"


async def never_ready() -> None:
    raise NotReady("no task worker seen for 90 s")


def closed_port() -> int:
    sock = bind_socket("127.0.0.1", 0)
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()  # nothing listens there now


async def readyz():
    return await asgi_request(ChorusASGIHandler(), "/readyz")


@pytest.mark.django_db
async def test_ready_when_the_database_answers(settings):
    settings.STOREFRONT_READINESS_CHECKS = [DATABASE]
    response = await readyz()
    assert response.status == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.django_db
async def test_an_unreachable_redis_is_named_in_a_503(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    settings.STOREFRONT_READINESS_CHECKS = [DATABASE, REDIS]
    response = await readyz()
    assert response.status == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable: ")


@pytest.mark.django_db
async def test_redis_answers_ping(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.STOREFRONT_READINESS_CHECKS = [DATABASE, REDIS]
    response = await readyz()
    assert response.status == 200
    assert response.json()["checks"]["redis"] == "ok"


@pytest.mark.django_db
async def test_a_further_check_is_one_line_in_settings(settings):
    settings.STOREFRONT_READINESS_CHECKS = [DATABASE, f"{__name__}.never_ready"]
    response = await readyz()
    assert response.status == 503
    assert response.json()["failing"] == ["never_ready"]
    assert response.json()["checks"]["never_ready"] == "not ready: no task worker seen for 90 s"


def test_redis_is_checked_only_when_configured():
    from django.conf import settings

    assert (REDIS in settings.STOREFRONT_READINESS_CHECKS) == bool(settings.REDIS_URL)


@pytest.mark.django_db(transaction=True)
async def test_the_task_worker_part_wants_a_recent_heartbeat(settings):
    settings.STOREFRONT_READINESS_CHECKS = ["storefront.ops.readiness.task_worker"]
    never = await readyz()
    assert never.status == 503
    assert never.json()["checks"]["task_worker"] == "not ready: no task worker has been seen"
    long_ago = timezone.now() - timedelta(seconds=3 * settings.STOREFRONT_WORKER_HEARTBEAT + 5)
    await sync_to_async(beat)("silent-worker", "db", long_ago)
    await WorkerHeartbeat.objects.filter(worker_id="silent-worker").aupdate(last_seen=long_ago)
    silent = await readyz()
    assert silent.status == 503
    assert silent.json()["checks"]["task_worker"].startswith("not ready: no task worker seen for")
    await sync_to_async(beat)("live-worker", "db", timezone.now())
    ready = await readyz()
    assert (ready.status, ready.json()["checks"]["task_worker"]) == (200, "ok")


# -- capacity: a saturated worker is alive but not ready ---------------------------------


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def _stall(port: int) -> asyncio.StreamWriter:
    """Issue 25's client: POST /login/ declaring 1000 bytes, ten sent, then nothing."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10
    )
    await writer.drain()
    return writer


async def _readyz_until(port: int, status: int) -> bytes:
    """``/readyz`` asked until it answers ``status`` (within 5 s); that answer's body."""
    async with asyncio.timeout(5):
        while True:
            got, body = await _get(port, "/readyz")
            if got == status:
                return body
            await asyncio.sleep(0.02)


def _saturating(settings):
    settings.STOREFRONT_READINESS_CHECKS = ["storefront.ops.readiness.capacity"]
    limits = {**settings.CHORUS["REQUEST_LIMITS"], "SATURATED_BODY_READS": 3, "BODY_GRACE": 30}
    door = {"MAX_IN_FLIGHT": 1, "EXEMPT": ["/healthz", "/readyz"]}
    settings.CHORUS = {**settings.CHORUS, "REQUEST_LIMITS": limits, "ADMISSION": door}


@pytest.mark.django_db
async def test_a_worker_reading_too_many_bodies_is_not_ready_until_they_end(settings):
    _saturating(settings)
    async with serving(ChorusASGIHandler()) as port:
        assert (await _get(port, "/readyz"))[0] == 200
        stalled = [await _stall(port) for _ in range(3)]
        try:
            body = orjson.loads(await _readyz_until(port, 503))
            assert body["failing"] == ["capacity"]
            assert body["checks"]["capacity"] == (
                "not ready: 3 request bodies being read (saturated at 3)"
            )
            assert (await _get(port, "/healthz"))[0] == 200  # alive, only not ready
        finally:
            for writer in stalled:
                writer.close()
        ready = orjson.loads(await _readyz_until(port, 200))
        assert ready == {"status": "ok", "checks": {"capacity": "ok"}}


@pytest.mark.django_db
async def test_a_full_door_with_requests_waiting_is_not_ready_until_it_drains(settings):
    _saturating(settings)
    async with serving(ChorusASGIHandler()) as port:
        admission = get_server_settings().admission  # the server runs in this loop: one door
        inside = await admit(admission, "/api/orders/")
        waiting = asyncio.ensure_future(admit(admission, "/api/orders/"))
        body = orjson.loads(await _readyz_until(port, 503))
        assert body["checks"]["capacity"] == (
            "not ready: 1 requests waiting at the door (1 in flight, limit 1)"
        )
        assert inside is not None
        inside.release()
        admitted = await waiting
        assert (await _get(port, "/readyz"))[0] == 200
        assert admitted is not None
        admitted.release()
