from django.contrib import admin
from django.urls import path

from storefront import monitoring

handler404 = "storefront.errors.not_found"

urlpatterns = [
    path("healthz", monitoring.healthz, name="healthz"),
    path("readyz", monitoring.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
