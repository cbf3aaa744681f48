"""The WebSocket side of the ASGI application: ``/ws/live/`` behind the session and user lookup."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path

from storefront.live.consumers import LiveConsumer

__all__ = ["websocket_application"]

websocket_application = AuthMiddlewareStack(
    URLRouter([path("ws/live/", LiveConsumer.as_asgi(), name="live-websocket")])
)
