"""The CPU work, on a task worker: decode once, orient, strip metadata, write WebP variants.

Pure Pillow on bytes in, bytes out: storage and progress are the caller's.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps

__all__ = ["CorruptImage", "Rendered", "render_variants"]

_WEBP_QUALITY = 82


class CorruptImage(Exception):
    """The bytes passed the sniff but do not decode: the job fails, nothing is retried."""


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    width: int
    height: int


def render_variants(
    source: IO[bytes],
    image_format: str,
    sizes: dict[str, int],
    progress: Callable[[int], None],
) -> dict[str, Rendered]:
    """Each variant of ``sizes`` (name -> longest side) as WebP, reporting 20..90 percent."""
    try:
        with Image.open(source, formats=[image_format]) as opened:
            opened.seek(0)  # a GIF's first frame
            opened.load()
            progress(30)
            # The EXIF orientation turned into pixels, before the EXIF goes.
            image = ImageOps.exif_transpose(opened)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptImage(f"the image could not be decoded: {exc}") from None
    image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    # No EXIF (GPS, camera, times), XMP or ICC goes out: the variants carry pixels only.
    image.info.clear()
    progress(40)
    rendered: dict[str, Rendered] = {}
    step = 50 // max(1, len(sizes))
    for done, (name, longest) in enumerate(sorted(sizes.items(), key=lambda item: -item[1]), 1):
        variant = image.copy()
        variant.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        variant.save(buffer, "WEBP", quality=_WEBP_QUALITY, method=4, exif=b"", xmp=b"")
        rendered[name] = Rendered(buffer.getvalue(), variant.width, variant.height)
        progress(40 + step * done)
    return rendered


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
