"""Views for the handler tests: no database, sync ORM, streaming, files, uploads."""

import contextvars
import tempfile
import threading

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connection
from django.http import FileResponse, HttpResponse, HttpResponseNotFound, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

seen = {}

# Set by a test's request_started receiver, read by the view below.
marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


async def plain(request):
    return HttpResponse(b"plain")


def _orm_work():
    seen["orm_thread"] = threading.get_ident()
    seen["orm_connection"] = connection
    return User.objects.count()


async def orm(request):
    count = await sync_to_async(_orm_work)()
    return HttpResponse(str(count).encode())


async def stream(request):
    async def parts():
        try:
            yield b"one,"
            yield b"two"
        finally:
            seen["stream_closed"] = True

    return StreamingHttpResponse(parts())


async def file(request):
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it: that is under test
    handle.write(b"file body")
    handle.seek(0)
    seen["file"] = handle
    return FileResponse(handle)


@csrf_exempt
async def upload(request):
    upload = request.FILES["doc"]
    seen["upload"] = upload
    return HttpResponse(str(upload.size).encode())


async def host(request):
    return HttpResponse(request.get_host().encode())


@csrf_exempt
async def echo(request):
    return HttpResponse(str(len(request.body)).encode())


async def missing(request):
    return HttpResponseNotFound(b"no such thing")


async def boom(request):
    raise RuntimeError("a bug in a view")


async def context(request):
    return HttpResponse(marker.get().encode())


urlpatterns = [
    path("context/", context),
    path("boom/", boom),
    path("missing/", missing),
    path("host/", host),
    path("echo/", echo),
    path("api/echo/", echo),
    path("plain/", plain),
    path("orm/", orm),
    path("stream/", stream),
    path("file/", file),
    path("upload/", upload),
]
