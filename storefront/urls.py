from django.contrib import admin
from django.urls import include, path

from storefront import dashboard, monitoring, sync_baseline

handler404 = "storefront.errors.not_found"

urlpatterns = [
    path("healthz", monitoring.healthz, name="healthz"),
    path("readyz", monitoring.readyz, name="readyz"),
    path("api/dashboard/", dashboard.Dashboard.as_view(), name="dashboard"),
    path("api/aggregate-status/", dashboard.AggregateStatus.as_view(), name="aggregate-status"),
    path("api/sync/dashboard/", sync_baseline.sync_dashboard, name="sync-dashboard"),
    path("api/", include("storefront.orders.urls")),
    path("admin/", admin.site.urls),
]
