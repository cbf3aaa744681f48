"""What an upload is, read from its bytes, and whether its header is within limits.

Nothing here decodes pixels: the type comes from the first bytes (the client's
file name and Content-Type are never asked), and the size from the header Pillow
parses on ``Image.open``. A file that passes and is still corrupt fails its job on
the worker, with a reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

__all__ = ["Refusal", "Sniffed", "sniff", "sniff_format"]

# Pillow's format names, which its plugins also answer to.
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}


class Refusal(Exception):
    """An upload refused with an HTTP status, an error code and a message for the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class Sniffed:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.format]


def sniff_format(head: bytes) -> str | None:
    """``PNG``, ``JPEG``, ``GIF`` or ``WEBP`` from a file's first 12 bytes; ``None`` otherwise."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def sniff(file: IO[bytes], *, max_pixels: int) -> Sniffed:
    """The upload's format and dimensions, or a ``Refusal``. Reads the header only."""
    file.seek(0)
    image_format = sniff_format(file.read(12))
    file.seek(0)
    if image_format is None:
        raise Refusal(
            415, "unsupported_image_type", "The file is not a PNG, JPEG, WebP or GIF image."
        )
    try:
        # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that; both are bombs here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file, formats=[image_format]) as image:
                width, height = image.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Refusal(
            400,
            "unreadable_image",
            f"The file starts like a {image_format} image but its header is not readable.",
        ) from None
    finally:
        file.seek(0)
    if width < 1 or height < 1:
        raise Refusal(400, "unreadable_image", "The image has no pixels.")
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels)
    return Sniffed(image_format, width, height)


def _too_many_pixels(max_pixels: int) -> Refusal:
    return Refusal(
        413, "too_many_pixels", f"The image is over {max_pixels} pixels (width x height)."
    )
