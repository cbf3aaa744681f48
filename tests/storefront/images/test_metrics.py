"""The task queue's metrics on /metrics: jobs by status, finished jobs' durations, the heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from chorus.server import ChorusASGIHandler
from storefront.images.models import ImageJob, Status
from storefront.images.workers import beat
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)


def _job(status: str, took: float | None = None) -> ImageJob:
    now = timezone.now()
    return ImageJob(
        owner="key:1",
        status=status,
        original="images/x/original.png",
        format="PNG",
        width=10,
        height=10,
        size=100,
        started_at=now - timedelta(seconds=took) if took is not None else None,
        finished_at=now if took is not None else None,
    )


async def _scrape() -> dict[str, dict[tuple, float]]:
    response = await asgi_request(ChorusASGIHandler(), "/metrics", client=("127.0.0.1", 1))
    assert response.status == 200
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_jobs_by_status_durations_and_the_heartbeat():
    await ImageJob.objects.abulk_create(
        [
            _job(Status.QUEUED),
            _job(Status.QUEUED),
            _job(Status.PROCESSING),
            _job(Status.FAILED),
            _job(Status.DONE, took=0.2),
            _job(Status.DONE, took=3.0),
        ]
    )
    before = timezone.now()
    await sync_to_async(beat)("metrics-test", "db", before)
    metrics = await _scrape()
    jobs = metrics["storefront_image_jobs"]
    assert jobs[(("status", "queued"),)] == 2
    assert jobs[(("status", "processing"),)] == 1
    assert jobs[(("status", "failed"),)] == 1
    assert jobs[(("status", "done"),)] == 2
    buckets = metrics["storefront_image_job_duration_seconds_bucket"]
    assert buckets[(("le", "0.25"),)] == 1
    assert buckets[(("le", "2.5"),)] == 1
    assert buckets[(("le", "5.0"),)] == 2
    assert buckets[(("le", "+Inf"),)] == 2
    assert metrics["storefront_image_job_duration_seconds_sum"][()] == pytest.approx(3.2, abs=0.01)
    seen = metrics["storefront_task_worker_last_seen_timestamp_seconds"][()]
    assert seen >= before.timestamp() - 1
