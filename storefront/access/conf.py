"""/api/ access settings and their defaults, written once here and read at each use.

| setting                           | default | meaning                                              |
|-----------------------------------|---------|------------------------------------------------------|
| ``STOREFRONT_API_KEY_CACHE_TTL``  | 30 s    | how long a process trusts its answer about a key     |
| ``STOREFRONT_JWT``                | off     | bearer JWTs validated locally (tokens.py), see below |

``STOREFRONT_JWT`` is on once both ``ISSUER`` and ``KEY`` are set; each key left
out takes its default (``DEFAULTS``). ``conf`` reads ``django.conf.settings`` on
every access, so ``override_settings`` applies; ``settings.py`` reads the
environment with these defaults.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

__all__ = ["DEFAULTS", "AccessSettings", "conf"]

DEFAULTS: dict[str, Any] = {
    # A revoked key stops working everywhere within this many seconds (0: ask the database each time).
    "STOREFRONT_API_KEY_CACHE_TTL": 30.0,
    "STOREFRONT_JWT": {
        "ISSUER": "",
        "AUDIENCE": "storefront",
        # The HS secret or the issuer's PEM public key.
        "KEY": "",
        "ALGORITHMS": ["RS256"],
        "LEEWAY": 30.0,
        "WRITE_SCOPE": "storefront:write",
    },
}


class AccessSettings:
    @property
    def api_key_cache_ttl(self) -> float:
        name = "STOREFRONT_API_KEY_CACHE_TTL"
        return float(getattr(settings, name, DEFAULTS[name]))

    @property
    def jwt(self) -> dict[str, Any]:
        name = "STOREFRONT_JWT"
        return {**DEFAULTS[name], **(getattr(settings, name, None) or {})}


conf = AccessSettings()
