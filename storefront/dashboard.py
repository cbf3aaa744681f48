"""Storefront's fan-out endpoints, declared with ``chorus.Composite``.

``/api/dashboard/`` is the seeds' ``dashboard_data`` done right: the three
upstream calls overlap, each bounded by its upstream's timeout and all by the
deadline; analytics is optional, so the page still loads without it.
``/api/aggregate-status/`` is the seeds' ``aggregate_status``.
"""

from __future__ import annotations

from typing import ClassVar

import chorus

__all__ = ["AggregateStatus", "Dashboard"]


class Dashboard(chorus.Composite):
    sources: ClassVar = {
        "inventory": chorus.call("inventory", "/stock"),
        "notifications": chorus.call("notifications", "/recent"),
        "analytics": chorus.call("analytics", "/summary", required=False),
    }


class AggregateStatus(chorus.Composite):
    sources: ClassVar = {
        "users": chorus.call("users", "/summary"),
        "billing": chorus.call("billing", "/summary"),
    }
