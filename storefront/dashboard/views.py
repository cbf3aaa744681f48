"""Storefront's fan-out endpoints, declared with ``chorus.Composite``.

``/api/dashboard/`` is the seeds' ``dashboard_data`` done right: the three
upstream calls overlap, each bounded by its upstream's timeout and all by the
deadline; analytics is optional, so the page still loads without it.
``/api/aggregate-status/`` is the seeds' ``aggregate_status``.
``/api/upstreams/`` tells what the resilience policies see in this worker:
each upstream's breaker, retry budget and cache.

The dashboard's ``orders`` source is a database query, not an upstream call:
any awaitable can be a source. A dashboard does not need counts fresher than a
second, so chorus's cache keeps one snapshot per second per worker for every
request in between (and concurrent misses share one query): the hot path
stays off the database.
"""

from __future__ import annotations

import os
from typing import ClassVar

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

import chorus
from storefront.dashboard.schemas import PolicyReport
from storefront.http.contract import operation
from storefront.http.responses import json_response
from storefront.orders.queries import todays_order_counts

ORDERS_SNAPSHOT = chorus.CachePolicy(ttl=1.0)


def orders_today(request: HttpRequest) -> chorus.Source:
    return chorus.source(
        todays_order_counts(),
        required=False,
        timeout=0.5,
        cache=ORDERS_SNAPSHOT,
        cache_key="orders-today",
    )


__all__ = ["AggregateStatus", "Dashboard", "upstream_policies"]


class Dashboard(chorus.Composite):
    sources: ClassVar = {
        "inventory": chorus.call("inventory", "/stock"),
        "notifications": chorus.call("notifications", "/recent"),
        "analytics": chorus.call("analytics", "/summary", required=False),
        "orders": orders_today,
    }


class AggregateStatus(chorus.Composite):
    sources: ClassVar = {
        "users": chorus.call("users", "/summary"),
        "billing": chorus.call("billing", "/summary"),
    }


@operation(
    "get",
    "What this worker's resilience policies see, per upstream",
    tag="dashboard",
    answers={200: PolicyReport},
)
@require_safe
async def upstream_policies(request: HttpRequest) -> HttpResponse:
    """Each upstream's breaker state, failure rate, retry-budget use and cache counts.

    What this worker process sees: breakers shared through Redis agree across
    workers; the counters are the worker's own.
    """
    body = {"process": os.getpid(), "upstreams": chorus.policy_report()}
    return json_response(body)
