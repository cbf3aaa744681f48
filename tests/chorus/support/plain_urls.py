"""The chorus suite's default URLconf: one plain async view."""

from django.http import HttpResponse
from django.urls import path


async def ping(request):
    return HttpResponse(b"pong")


urlpatterns = [path("ping/", ping)]
