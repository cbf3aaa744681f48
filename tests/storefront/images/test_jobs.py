"""The job's life, run in this process on real files: retries, time limit, re-runs, claims.

The same ``jobs.run`` a worker calls (through ``tasks.process_image`` where a
retry must be queued), called directly, so each path is reached
on purpose: a missing original (a transient storage error), a slow step, a job
another live worker holds, a job whose worker died.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from storefront.images import jobs, tasks, workers
from storefront.images.models import ImageJob, Status, WorkerHeartbeat
from tests.storefront.images.support import pictures
from tests.storefront.images.support.media import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def _job(content: bytes | None = None, image_format: str = "PNG") -> ImageJob:
    name = default_storage.save(
        "images/" + "ab" * 16 + "/original.png", ContentFile(content or pictures.png(1200, 900))
    )
    return ImageJob.objects.create(
        owner="key:1", original=name, format=image_format, width=1200, height=900, size=1
    )


def _deferred_runs(job: ImageJob) -> list[float]:
    """Seconds from now until each queued run of ``job`` may start."""
    now = timezone.now()
    return [
        round((result.run_after - now).total_seconds())
        for result in DBTaskResult.objects.filter(
            args_kwargs__args=[job.pk], run_after__isnull=False
        )
    ]


def test_a_re_run_overwrites_the_same_outputs(media_root) -> None:
    job = _job()
    jobs.run(job.pk)
    first = ImageJob.objects.get(pk=job.pk)
    assert first.status == Status.DONE
    assert first.attempts == 1
    ImageJob.objects.filter(pk=job.pk).update(status=Status.QUEUED)
    jobs.run(job.pk)
    second = ImageJob.objects.get(pk=job.pk)
    assert second.status == Status.DONE
    assert second.attempts == 2
    assert {v["name"] for v in second.variants.values()} == {
        v["name"] for v in first.variants.values()
    }
    assert [path.name for path in stored_files(media_root)] == [
        "original.png",
        "thumb.webp",
        "web.webp",
    ]


def test_a_transient_error_is_retried_with_backoff_then_the_job_fails(media_root) -> None:
    job = _job()
    default_storage.delete(job.original)  # the storage answers "not found": maybe it is catching up
    tasks.process_image.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (Status.QUEUED, 1, "")
    assert _deferred_runs(job) == [2]
    tasks.process_image.call(job.pk)
    assert sorted(_deferred_runs(job)) == [2, 10]
    tasks.process_image.call(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.attempts == 3
    assert job.error.startswith("gave up after 3 attempts: FileNotFoundError")


def test_the_job_logic_asks_for_a_retry_and_leaves_the_queueing_to_its_task(media_root) -> None:
    job = _job()
    default_storage.delete(job.original)
    assert jobs.run(job.pk) == 2
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert _deferred_runs(job) == []


@override_settings(STOREFRONT_IMAGE_TIME_LIMIT=0.3, STOREFRONT_IMAGE_STEP_DELAY=0.2)
def test_a_job_over_its_time_limit_fails_and_says_so(media_root) -> None:
    job = _job()
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == "processing took longer than 0.3 s"


def test_a_job_held_by_a_live_worker_is_not_run_twice(media_root) -> None:
    job = _job()
    WorkerHeartbeat.objects.create(
        worker_id="other",
        engine="db",
        hostname="h",
        pid=1,
        started_at=timezone.now(),
        last_seen=timezone.now(),
    )
    ImageJob.objects.filter(pk=job.pk).update(status=Status.PROCESSING, worker="other")
    jobs.run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == (Status.PROCESSING, "other", 0)
    assert workers.requeue_orphans() == []


def test_a_job_whose_worker_went_silent_is_requeued_once(media_root) -> None:
    job = _job()
    long_ago = timezone.now() - timedelta(minutes=5)
    WorkerHeartbeat.objects.create(
        worker_id="dead",
        engine="celery",
        hostname="h",
        pid=1,
        started_at=long_ago,
        last_seen=long_ago,
    )
    ImageJob.objects.filter(pk=job.pk).update(
        status=Status.PROCESSING, worker="dead", updated_at=long_ago
    )
    assert workers.requeue_orphans() == [job.pk]
    assert workers.requeue_orphans() == []
    job.refresh_from_db()
    assert (job.status, job.worker) == (Status.QUEUED, "")
    assert DBTaskResult.objects.filter(args_kwargs__args=[job.pk]).count() == 1
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.status == Status.DONE


def test_last_seen_is_none_until_a_worker_beats(media_root) -> None:
    assert workers.last_seen() is None
    workers.beat("w1", "db", timezone.now())
    seen = workers.last_seen()
    assert seen is not None
    assert abs((timezone.now() - seen).total_seconds()) < 5
