"""The image settings, read from Django settings at each use (tests override them).

| setting                              | default  | meaning                                          |
|--------------------------------------|----------|--------------------------------------------------|
| ``STOREFRONT_IMAGE_MAX_BYTES``       | 10 MB    | largest upload accepted (413 beyond)             |
| ``STOREFRONT_IMAGE_MAX_PIXELS``      | 40 M     | largest width x height (decompression-bomb guard)|
| ``STOREFRONT_IMAGE_TIME_LIMIT``      | 60 s     | one attempt at a job, at most                    |
| ``STOREFRONT_IMAGE_MAX_ATTEMPTS``    | 3        | attempts at a job failing on transient errors    |
| ``STOREFRONT_IMAGE_STEP_DELAY``      | 0        | seconds slept between steps (demos, tests only)  |
| ``STOREFRONT_WORKER_HEARTBEAT``      | 10 s     | how often a task worker says it is alive         |
"""

from __future__ import annotations

from django.conf import settings

__all__ = [
    "VARIANTS",
    "heartbeat_seconds",
    "max_attempts",
    "max_bytes",
    "max_pixels",
    "stale_after_seconds",
    "step_delay",
    "time_limit",
]

# name -> longest side in pixels. Both WebP: every browser storefront targets decodes it.
VARIANTS: dict[str, int] = {"thumb": 256, "web": 1024}

MAX_BYTES = 10 * 1024 * 1024


def max_bytes() -> int:
    return int(getattr(settings, "STOREFRONT_IMAGE_MAX_BYTES", MAX_BYTES))


def max_pixels() -> int:
    return int(getattr(settings, "STOREFRONT_IMAGE_MAX_PIXELS", 40_000_000))


def time_limit() -> float:
    return float(getattr(settings, "STOREFRONT_IMAGE_TIME_LIMIT", 60.0))


def max_attempts() -> int:
    return int(getattr(settings, "STOREFRONT_IMAGE_MAX_ATTEMPTS", 3))


def step_delay() -> float:
    return float(getattr(settings, "STOREFRONT_IMAGE_STEP_DELAY", 0.0))


def heartbeat_seconds() -> float:
    return float(getattr(settings, "STOREFRONT_WORKER_HEARTBEAT", 10.0))


def stale_after_seconds() -> float:
    """A worker silent this long is taken for dead: three missed heartbeats."""
    return 3 * heartbeat_seconds()
