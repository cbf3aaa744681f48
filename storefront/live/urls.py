"""Live events' routes, included under ``api/`` by ``storefront.urls``."""

from django.urls import path

from storefront.live import views

urlpatterns = [
    path("live/", views.live_events, name="live-events"),
]
