"""storefront's routes plus views that fail, for the error-handling tests."""

from django.http import HttpRequest
from django.urls import path

from storefront.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


async def explode(request: HttpRequest):
    # The message carries the caller's credential, as careless code might.
    raise RuntimeError(f"boom with {request.headers.get('Authorization')}")


urlpatterns = [
    path("api/explode/", explode),
    path("explode/", explode),
    *urlpatterns,
]
