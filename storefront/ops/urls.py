"""Probes and metrics, included at the root by ``storefront.urls`` (outside ``/api/``: no key needed)."""

from django.urls import path

from storefront.ops import metrics, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
]
