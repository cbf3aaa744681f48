from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import user_passes_test
from django.urls import include, path

from storefront import dashboard, fault_control, monitoring, pages, streams, sync_baseline

handler400 = "storefront.errors.bad_request"
handler403 = "storefront.errors.permission_denied"
handler404 = "storefront.errors.not_found"
handler500 = "storefront.errors.server_error"

# The page's streams and fetches need a staff session (storefront/access/): so does the page.
staff_only = user_passes_test(lambda user: user.is_active and user.is_staff)

urlpatterns = [
    path("", staff_only(pages.dashboard), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="storefront/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
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
    path("api/", include("storefront.live.urls")),
    path("admin/", admin.site.urls),
]
