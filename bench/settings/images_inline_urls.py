"""Storefront's routes plus ``POST /bench/images-inline/``: parse, decode, resize, store, all on
the event loop, as the seeds' async view did (their Celery hand-off aside). Never deployed."""

from __future__ import annotations

import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from storefront.images import conf
from storefront.images.processing import render_variants
from storefront.images.sniff import sniff
from storefront.urls import urlpatterns as storefront_urlpatterns


@csrf_exempt
async def inline_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES["file"]  # blocking parse, on the loop
    sniffed = sniff(upload.file, max_pixels=conf.max_pixels())
    folder = f"images/{secrets.token_hex(16)}"
    default_storage.save(f"{folder}/original.{sniffed.extension}", upload.file)
    upload.file.seek(0)
    rendered = render_variants(upload.file, sniffed.format, conf.VARIANTS, lambda percent: None)
    for name, image in rendered.items():
        default_storage.save(f"{folder}/{name}.webp", ContentFile(image.data))
    return HttpResponse(status=201)


urlpatterns = [*storefront_urlpatterns, path("bench/images-inline/", inline_upload)]
