"""The images API's bodies, as msgspec Structs for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

__all__ = ["UPLOAD_FORM", "ImageJobOut", "ImageQueued"]

JobStatus = Literal["queued", "processing", "done", "failed"]

# multipart/form-data: the image (its type is read from its bytes, not its name) and an alt text.
UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
        "alt": {"type": "string", "maxLength": 300},
    },
    "required": ["file"],
}


class ImageQueued(msgspec.Struct):
    id: int
    status: JobStatus
    url: str


class ImageSize(msgspec.Struct):
    format: str
    width: int
    height: int
    bytes: int


class Variant(msgspec.Struct):
    url: str
    format: str
    width: int
    height: int
    bytes: int


class ImageJobOut(msgspec.Struct):
    """A job's progress, and once done, each variant's URL and size."""

    id: int
    status: JobStatus
    progress: int
    error: str | None
    original: ImageSize
    variants: dict[str, Variant]
    alt: str
    created_at: datetime
    finished_at: datetime | None
