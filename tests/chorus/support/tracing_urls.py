"""A view that fans out to the upstream "svc", for the server-span tests."""

from django.http import HttpRequest, HttpResponseBase
from django.urls import path

import chorus


async def page(request: HttpRequest) -> HttpResponseBase:
    result = await chorus.gather(svc=chorus.call("svc", "/stock"), request=request)
    return result.response()


async def broken(request: HttpRequest) -> HttpResponseBase:
    raise RuntimeError("a bug")


urlpatterns = [path("page/", page), path("broken/", broken)]
