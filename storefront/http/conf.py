"""The HTTP plumbing's settings and their defaults, written once here and read at each use.

| setting                          | default                               | meaning                        |
|----------------------------------|---------------------------------------|--------------------------------|
| ``STOREFRONT_API_MAX_BODY_BYTES`` | 64 KiB                               | largest /api/ JSON body (413)  |
| ``STOREFRONT_RATE_LIMITS``       | API 1000/s burst 2000; anonymous 20/s burst 200 | moving windows (429) |

``RATE``/``BURST`` become a moving window of ``BURST`` requests per
``BURST / RATE`` seconds (``storefront/http/ratelimit.py``). A ``RATE`` of 0
turns a limit off; a kind or key left out of
``STOREFRONT_RATE_LIMITS`` takes its default. ``conf`` reads
``django.conf.settings`` on every access, so ``override_settings`` applies;
``settings.py`` reads the environment with these defaults (``DEFAULTS``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

__all__ = ["DEFAULTS", "HttpSettings", "conf"]

DEFAULTS: dict[str, Any] = {
    "STOREFRONT_API_MAX_BODY_BYTES": 64 * 1024,
    "STOREFRONT_RATE_LIMITS": {
        "API": {"RATE": 1000.0, "BURST": 2000},
        "ANONYMOUS": {"RATE": 20.0, "BURST": 200},
    },
}


class HttpSettings:
    @property
    def api_max_body_bytes(self) -> int:
        name = "STOREFRONT_API_MAX_BODY_BYTES"
        return int(getattr(settings, name, DEFAULTS[name]))

    def rate_limit(self, kind: str) -> dict[str, Any]:
        """``"API"`` or ``"ANONYMOUS"``: its ``RATE`` and ``BURST``, each defaulted alone."""
        name = "STOREFRONT_RATE_LIMITS"
        configured = (getattr(settings, name, None) or {}).get(kind) or {}
        return {**DEFAULTS[name][kind], **configured}


conf = HttpSettings()
