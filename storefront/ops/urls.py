"""Probes, included at the root by ``storefront.urls`` (outside ``/api/``: no key needed)."""

from django.urls import path

from storefront.ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
