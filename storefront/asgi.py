"""ASGI entry point: the application uvicorn serves (``storefront.asgi:application``)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

from chorus.asgi import get_asgi_application

application = get_asgi_application()
