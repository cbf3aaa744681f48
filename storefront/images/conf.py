"""The image settings and their defaults, written once here and read at each use.

| setting                              | default  | meaning                                          |
|--------------------------------------|----------|--------------------------------------------------|
| ``STOREFRONT_IMAGE_MAX_BYTES``       | 10 MiB   | largest upload accepted (413 beyond)             |
| ``STOREFRONT_IMAGE_MAX_PIXELS``      | 40 M     | largest width x height (decompression-bomb guard)|
| ``STOREFRONT_IMAGE_TIME_LIMIT``      | 60 s     | one attempt at a job, at most                    |
| ``STOREFRONT_IMAGE_MAX_ATTEMPTS``    | 3        | attempts at a job failing on transient errors    |
| ``STOREFRONT_IMAGE_STEP_DELAY``      | 0        | seconds slept between steps (demos, tests only)  |
| ``STOREFRONT_WORKER_HEARTBEAT``      | 10 s     | how often a task worker says it is alive         |
| ``STOREFRONT_SERVE_MEDIA``           | on       | storefront serves ``MEDIA_URL`` itself           |

``conf`` reads ``django.conf.settings`` on every access, so ``override_settings``
applies; ``settings.py`` reads the environment with these defaults (``DEFAULTS``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

__all__ = ["DEFAULTS", "VARIANTS", "ImageSettings", "conf"]

# name -> longest side in pixels. Both WebP: every browser storefront targets decodes it.
VARIANTS: dict[str, int] = {"thumb": 256, "web": 1024}

DEFAULTS: dict[str, Any] = {
    "STOREFRONT_IMAGE_MAX_BYTES": 10 * 1024 * 1024,
    "STOREFRONT_IMAGE_MAX_PIXELS": 40_000_000,
    "STOREFRONT_IMAGE_TIME_LIMIT": 60.0,
    "STOREFRONT_IMAGE_MAX_ATTEMPTS": 3,
    "STOREFRONT_IMAGE_STEP_DELAY": 0.0,
    "STOREFRONT_WORKER_HEARTBEAT": 10.0,
    "STOREFRONT_SERVE_MEDIA": True,
}


def _get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


class ImageSettings:
    @property
    def max_bytes(self) -> int:
        return int(_get("STOREFRONT_IMAGE_MAX_BYTES"))

    @property
    def max_pixels(self) -> int:
        return int(_get("STOREFRONT_IMAGE_MAX_PIXELS"))

    @property
    def time_limit(self) -> float:
        return float(_get("STOREFRONT_IMAGE_TIME_LIMIT"))

    @property
    def max_attempts(self) -> int:
        return int(_get("STOREFRONT_IMAGE_MAX_ATTEMPTS"))

    @property
    def step_delay(self) -> float:
        return float(_get("STOREFRONT_IMAGE_STEP_DELAY"))

    @property
    def heartbeat_seconds(self) -> float:
        return float(_get("STOREFRONT_WORKER_HEARTBEAT"))

    @property
    def stale_after_seconds(self) -> float:
        """A worker silent this long is taken for dead: three missed heartbeats."""
        return 3 * self.heartbeat_seconds

    @property
    def serve_media(self) -> bool:
        return bool(_get("STOREFRONT_SERVE_MEDIA"))


conf = ImageSettings()
