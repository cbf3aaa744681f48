"""The root URLconf: each feature's routes, the admin, and the JSON error handlers."""

from django.contrib import admin
from django.urls import include, path

from storefront.images.urls import media_urlpatterns

handler400 = "storefront.http.errors.bad_request"
handler403 = "storefront.http.errors.permission_denied"
handler404 = "storefront.http.errors.not_found"
handler500 = "storefront.http.errors.server_error"

urlpatterns = [
    path("", include("storefront.dashboard.urls")),
    path("", include("storefront.access.urls")),
    path("", include("storefront.ops.urls")),
    path("api/", include("storefront.orders.urls")),
    path("api/", include("storefront.live.urls")),
    path("api/", include("storefront.apidocs.urls")),
    path("api/", include("storefront.images.urls")),
    *media_urlpatterns,
    path("admin/", admin.site.urls),
]
