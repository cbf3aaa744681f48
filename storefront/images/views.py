"""``POST /api/images/`` and ``GET /api/images/<id>/``.

| route                    | view      |
|--------------------------|-----------|
| POST /api/images/        | ``upload`` (multipart: ``file``, optional ``alt``) |
| GET  /api/images/<id>/   | ``detail`` |

Jobs are owned: only the API key, token subject or staff user that uploaded a
job may read it; anyone else gets the same 404 as for a job that does not exist.
The view does no CPU work and no blocking I/O on the event loop: the multipart
body is parsed, sniffed and stored on a worker thread (``sync_to_async``).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from storefront.http.contract import operation
from storefront.http.errors import json_error
from storefront.http.responses import json_response
from storefront.images import jobs, tasks
from storefront.images.conf import conf
from storefront.images.models import ImageJob, Status
from storefront.images.schemas import UPLOAD_FORM, ImageJobOut, ImageQueued
from storefront.images.sniff import Refusal, Sniffed, sniff

__all__ = ["detail", "upload"]

logger = logging.getLogger(__name__)

_MAX_ALT = 300
_TEXT_FIELDS = {"alt"}


def _owner(request: HttpRequest) -> str:
    return str(getattr(request, "api_identity", ""))


@operation(
    "post",
    "Upload an image to be resized on a task worker",
    tag="images",
    description="PNG, JPEG, WebP or GIF, at most STOREFRONT_IMAGE_MAX_BYTES (10 MB). "
    "Answers 202 at once; follow `url` (or /api/live/ `image.progress` events).",
    body=UPLOAD_FORM,
    body_media="multipart/form-data",
    answers={202: ImageQueued},
    errors=(503,),
    write=True,
)
@require_POST
async def upload(request: HttpRequest) -> HttpResponse:
    limit = conf.max_bytes
    if request.content_type != "multipart/form-data":
        return json_error(
            415, "unsupported_media_type", "Send the image as multipart/form-data, field 'file'."
        )
    try:
        stored = await sync_to_async(_receive, thread_sensitive=False)(request, limit)
    except Refusal as refusal:
        return json_error(refusal.status, refusal.code, refusal.message)
    name, sniffed, size, alt = stored
    job = await ImageJob.objects.acreate(
        owner=_owner(request),
        original=name,
        format=sniffed.format,
        width=sniffed.width,
        height=sniffed.height,
        size=size,
        alt=alt,
    )
    # Published before the job can reach a worker, so "queued" is never seen after "processing".
    await sync_to_async(jobs.publish)(job.pk, Status.QUEUED, 0, "")
    try:
        await sync_to_async(tasks.enqueue)(job.pk)
    except Exception:
        logger.exception("image job %s: not queued", job.pk)
        await job.adelete()
        await sync_to_async(default_storage.delete, thread_sensitive=False)(name)
        await sync_to_async(jobs.publish)(
            job.pk, Status.FAILED, 0, "the task queue is not reachable"
        )
        return json_error(503, "queue_unavailable", "The task queue is not reachable; try again.")
    url = request.build_absolute_uri(reverse("image-detail", args=[job.pk]))
    return json_response({"id": job.pk, "status": Status.QUEUED, "url": url}, 202, Location=url)


def _receive(request: HttpRequest, limit: int) -> tuple[str, Sniffed, int, str]:
    """On a worker thread: parse, check, and store the original under a generated name."""
    try:
        files = request.FILES
    except (MultiPartParserError, SuspiciousOperation):
        raise Refusal(400, "malformed_multipart", "The multipart body could not be read.") from None
    alt = _text_field(request, "alt")
    unknown = set(request.POST) - _TEXT_FIELDS
    if unknown:
        raise Refusal(400, "unknown_field", f"Unknown field: {sorted(unknown)[0]!r}.")
    upload: UploadedFile | None = files.get("file")
    if upload is None or set(files) != {"file"} or len(files.getlist("file")) != 1:
        raise Refusal(400, "missing_file", "Send exactly one image in the field 'file'.")
    size = upload.size or 0
    if size == 0:
        raise Refusal(400, "empty_file", "The file is empty.")
    if size > limit:
        raise Refusal(413, "payload_too_large", f"The image is over {limit} bytes.")
    sniffed = sniff(upload.file, max_pixels=conf.max_pixels)
    # The client's file name is never used: not as a path, not as a part of one.
    name = f"images/{secrets.token_hex(16)}/original.{sniffed.extension}"
    upload.file.seek(0)
    saved = default_storage.save(name, upload.file)
    return saved, sniffed, size, alt


def _text_field(request: HttpRequest, field: str) -> str:
    value = request.POST.get(field, "")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise Refusal(
            400, "invalid_field", f"{field}: control characters (NUL included) are not allowed."
        )
    if len(value) > _MAX_ALT:
        raise Refusal(400, "invalid_field", f"{field}: at most {_MAX_ALT} characters.")
    return value


@operation(
    "get",
    "An image job: its status, progress, and when done its variants",
    tag="images",
    description="Only the key, token or user that uploaded it sees a job; to anyone "
    "else it is a 404.",
    answers={200: ImageJobOut},
    errors=(404,),
)
@require_GET
async def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = await ImageJob.objects.filter(pk=pk, owner=_owner(request)).afirst()
    if job is None:
        return json_error(404, "not_found", f"No image job {pk}.")
    return json_response(job_dict(job, request))


def job_dict(job: ImageJob, request: HttpRequest) -> dict[str, Any]:
    variants = {
        name: {
            "url": request.build_absolute_uri(default_storage.url(variant["name"])),
            **{key: variant[key] for key in ("format", "width", "height", "bytes")},
        }
        for name, variant in job.variants.items()
    }
    return {
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "error": job.error or None,
        "original": {
            "format": job.format,
            "width": job.width,
            "height": job.height,
            "bytes": job.size,
        },
        "variants": variants,
        "alt": job.alt,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }
