"""The task queue's metrics, read from the database at scrape time.

Jobs live in the ``ImageJob`` table whichever engine runs them (the database
worker or Celery), and the worker processes are not the web server's: counting
from the table is what every scrape of every web worker agrees on, without a
metrics directory shared with the task workers.

- ``storefront_image_jobs{status}``: jobs now queued, processing, done, failed;
- ``storefront_image_job_duration_seconds``: a histogram of finished jobs' time
  from start to finish (cumulative, like any histogram: jobs are kept);
- ``storefront_task_worker_last_seen_timestamp_seconds``: the newest heartbeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.metrics_core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from storefront.images.models import ImageJob, Status
from storefront.images.workers import last_seen

__all__ = ["BUCKETS", "TaskQueueCollector"]

BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class TaskQueueCollector(Collector):
    """Sync, a few queries: run it where blocking is fine (``/metrics`` renders on a thread)."""

    def collect(self) -> Iterable[Metric]:
        jobs = GaugeMetricFamily(
            "storefront_image_jobs", "Image jobs by status, now.", labels=["status"]
        )
        counts = dict(ImageJob.objects.values_list("status").annotate(n=Count("id")))
        for status in Status.values:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        yield self._durations()
        seen = last_seen()
        heartbeat = GaugeMetricFamily(
            "storefront_task_worker_last_seen_timestamp_seconds",
            "When a task worker last reported alive (Unix time; 0: never).",
        )
        heartbeat.add_metric([], seen.timestamp() if seen is not None else 0)
        yield heartbeat

    def _durations(self) -> Metric:
        took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        finished = ImageJob.objects.filter(
            status=Status.DONE, started_at__isnull=False, finished_at__isnull=False
        ).annotate(took=took)
        aggregates = finished.aggregate(
            total=Count("id"),
            took_in_all=Sum("took"),
            **{
                f"le_{index}": Count("id", filter=Q(took__lte=timedelta(seconds=bound)))
                for index, bound in enumerate(BUCKETS)
            },
        )
        took_in_all: timedelta | None = aggregates["took_in_all"]
        seconds = took_in_all.total_seconds() if took_in_all is not None else 0.0
        buckets = [(str(bound), aggregates[f"le_{index}"]) for index, bound in enumerate(BUCKETS)]
        buckets.append(("+Inf", aggregates["total"]))
        return HistogramMetricFamily(
            "storefront_image_job_duration_seconds",
            "Finished image jobs, start to finish.",
            buckets=buckets,
            sum_value=seconds,
        )
