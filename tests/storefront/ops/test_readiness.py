"""``GET /readyz``: every configured part is asked for real; a 503 names the failing one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chorus.server import ChorusASGIHandler
from storefront.images.models import WorkerHeartbeat
from storefront.images.workers import beat
from storefront.ops.readiness import NotReady
from tests.fixtures.asgi import asgi_request
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
