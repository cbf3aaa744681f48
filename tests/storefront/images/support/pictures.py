"""Real image files made with Pillow (and one hand-made PNG header), for the upload tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

__all__ = ["corrupt_png", "gif", "jpeg_with_gps", "noise_png", "pixel_bomb_png", "png", "webp"]

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _save(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def png(width: int = 640, height: int = 480, color: str = "teal") -> bytes:
    return _save(Image.new("RGB", (width, height), color), "PNG")


def webp(width: int = 300, height: int = 200) -> bytes:
    return _save(Image.new("RGB", (width, height), "orange"), "WEBP")


def gif(width: int = 300, height: int = 300) -> bytes:
    frames = [Image.new("P", (width, height), index) for index in (1, 2, 3)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:])


def noise_png(width: int, height: int) -> bytes:
    """Incompressible pixels: a file of about ``width * height * 3`` bytes."""
    import os

    return _save(Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)), "PNG")


def jpeg_with_gps(width: int = 1600, height: int = 1200, orientation: int = 6) -> bytes:
    """A camera-like JPEG: GPS coordinates and an orientation tag (6: rotate 90 degrees)."""
    image = Image.new("RGB", (width, height), "navy")
    image.paste((255, 0, 0), (0, 0, width // 2, height // 4))  # marks the top-left corner
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "TestCam"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 22.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)})
    return _save(image, "JPEG", exif=exif, quality=85)


def pixel_bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header claiming ``width x height`` pixels over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def corrupt_png() -> bytes:
    """A readable PNG header followed by garbage where the pixels should be."""
    good = png(400, 300)
    return good[:60] + b"\x00garbage" * 200
