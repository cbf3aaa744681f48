"""ASGI entry point: the application uvicorn (or daphne) serves (``storefront.asgi:application``).

HTTP and lifespan go straight to chorus's zero-hop handler; WebSockets go to
Django Channels (``/ws/live/``, storefront/live/routing.py).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

from channels.routing import ProtocolTypeRouter

from chorus.server import get_asgi_application

http_application = get_asgi_application()  # sets Django up: import the consumers after it

from storefront.live.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "lifespan": http_application,
        "websocket": websocket_application,
    }
)
