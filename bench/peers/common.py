"""What every peer calls: the three dashboard upstreams, from the same env vars storefront reads."""

from __future__ import annotations

import os

CALLS = (("inventory", "/stock"), ("notifications", "/recent"), ("analytics", "/summary"))


def upstream_urls() -> dict[str, str]:
    return {
        name: os.environ[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"].rstrip("/") + path
        for name, path in CALLS
    }
