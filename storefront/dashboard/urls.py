"""The dashboard's page and API routes, included at the root by ``storefront.urls``."""

from django.urls import path

from storefront.access.pages import staff_only
from storefront.dashboard import demo_stream, fault_control, page, sync_baseline, views
from storefront.dashboard.schemas import Envelope
from storefront.http.contract import EVENT_STREAM, described, operation

_FAN_OUT = {200: Envelope, 502: Envelope, 504: Envelope}
_FAN_OUT_NOTE = (
    "200 when every required source answered, 502 or 504 when one did not: the envelope "
    "either way. Optional sources may fail in a 200 (then `complete` is false), and so may "
    "a required one its cache answered with its last good data (`stale` is true)."
)

urlpatterns = [
    path("", staff_only(page.dashboard), name="home"),
    path(
        "api/dashboard/",
        described(
            views.Dashboard.as_view(),
            operation(
                "get",
                "Inventory, notifications, analytics and today's orders, fetched at once",
                tag="dashboard",
                description=_FAN_OUT_NOTE,
                answers=_FAN_OUT,
            ),
        ),
        name="dashboard",
    ),
    path(
        "api/dashboard/stream/",
        described(
            views.Dashboard.as_stream_view(),
            operation(
                "get",
                "The dashboard as Server-Sent Events: one `source` event as each lands",
                tag="dashboard",
                answers={200: EVENT_STREAM},
            ),
        ),
        name="dashboard-stream",
    ),
    path(
        "api/aggregate-status/",
        described(
            views.AggregateStatus.as_view(),
            operation(
                "get",
                "Users and billing, fetched at once",
                tag="dashboard",
                description=_FAN_OUT_NOTE,
                answers=_FAN_OUT,
            ),
        ),
        name="aggregate-status",
    ),
    path("api/upstreams/", views.upstream_policies, name="upstream-policies"),
    path("api/sync/dashboard/", sync_baseline.sync_dashboard, name="sync-dashboard"),
    path("api/events/", demo_stream.events, name="events"),
    path("api/simulator/faults/", fault_control.faults, name="simulator-faults"),
    path("api/simulator/faults/<str:service>", fault_control.fault, name="simulator-fault"),
]
