"""The dashboard's page and API routes, included at the root by ``storefront.urls``."""

from django.contrib.auth.decorators import user_passes_test
from django.urls import path

from storefront.dashboard import demo_stream, fault_control, page, sync_baseline, views

# The page's streams and fetches need a staff session (storefront/access/): so does the page.
staff_only = user_passes_test(lambda user: user.is_active and user.is_staff)

urlpatterns = [
    path("", staff_only(page.dashboard), name="home"),
    path("api/dashboard/", views.Dashboard.as_view(), name="dashboard"),
    path("api/dashboard/stream/", views.Dashboard.as_stream_view(), name="dashboard-stream"),
    path("api/aggregate-status/", views.AggregateStatus.as_view(), name="aggregate-status"),
    path("api/upstreams/", views.upstream_policies, name="upstream-policies"),
    path("api/sync/dashboard/", sync_baseline.sync_dashboard, name="sync-dashboard"),
    path("api/events/", demo_stream.events, name="events"),
    path("api/simulator/faults/", fault_control.faults, name="simulator-faults"),
    path("api/simulator/faults/<str:service>", fault_control.fault, name="simulator-fault"),
]
