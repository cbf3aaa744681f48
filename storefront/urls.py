from django.contrib import admin
from django.urls import include, path

from storefront import dashboard, fault_control, monitoring, pages, streams, sync_baseline

handler404 = "storefront.errors.not_found"

urlpatterns = [
    path("", pages.dashboard, name="home"),
    path("static/<path:path>", pages.static_file, name="static-file"),
    path("healthz", monitoring.healthz, name="healthz"),
    path("readyz", monitoring.readyz, name="readyz"),
    path("api/dashboard/", dashboard.Dashboard.as_view(), name="dashboard"),
    path("api/dashboard/stream/", dashboard.Dashboard.as_stream_view(), name="dashboard-stream"),
    path("api/aggregate-status/", dashboard.AggregateStatus.as_view(), name="aggregate-status"),
    path("api/sync/dashboard/", sync_baseline.sync_dashboard, name="sync-dashboard"),
    path("api/events/", streams.events, name="events"),
    path("api/simulator/faults/", fault_control.faults, name="simulator-faults"),
    path("api/simulator/faults/<str:service>", fault_control.fault, name="simulator-fault"),
    path("api/", include("storefront.orders.urls")),
    path("admin/", admin.site.urls),
]
