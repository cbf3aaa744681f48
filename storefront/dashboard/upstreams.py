"""The dashboard's upstreams: which services it calls, where, and under which policies.

``settings.py`` calls ``chorus_upstreams()`` for ``CHORUS["UPSTREAMS"]`` and
``simulator_url()`` for ``STOREFRONT_SIMULATOR_URL``; everything here is read
from the environment at start-up (docs/configuration.md):

- ``STOREFRONT_UPSTREAM_<NAME>_URL``: one upstream's base URL; by default the
  upstream simulator on this machine (``manage.py upstreams``), so a checkout
  runs without configuration. ``manage.py demo`` sets each to its simulator.
- ``STOREFRONT_UPSTREAM_TIMEOUT``: seconds per call (0.5).
- ``STOREFRONT_POLICIES=0``: no breaker, retry, hedge or cache on any upstream
  (bench/faults.py compares the two).
- ``STOREFRONT_SIMULATOR_URL``: the simulator's fault API behind the dashboard's
  fault controls (fault_control.py); "" turns them off.

Storefront names its upstreams and their local address itself: production
settings import nothing from the simulator (``upstreams/``), whose catalog a
test keeps in step with ``UPSTREAM_NAMES``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from storefront.env import EnvironmentVariableError, env_bool, env_float

__all__ = [
    "LOCAL_SIMULATOR_URL",
    "UPSTREAM_NAMES",
    "chorus_upstreams",
    "simulator_url",
    "upstream_urls",
]

# The five services the dashboard fans out to.
UPSTREAM_NAMES = ("inventory", "notifications", "analytics", "users", "billing")
# Where they answer when the environment names no URL: the simulator's default address.
LOCAL_SIMULATOR_URL = "http://127.0.0.1:8100"

# Every upstream: a breaker over the last 10 s of calls, shared by every worker through
# Redis when there is one; one retry of a GET on a reset or a 502/503/504, under the budget.
_BREAKER = {
    "FAILURE_RATE": 0.5,
    "MINIMUM_CALLS": 10,
    "WINDOW_SECONDS": 10.0,
    "COOL_DOWN": 5.0,
}
_RETRY = {"ATTEMPTS": 2}
# The dashboard's required upstreams are asked on every page (TTL 0: never served from the
# cache while they answer), but a failure, a timeout or an open breaker is answered with the
# last good answer for 30 s, marked stale: the page is a 200 saying which source is old and
# why (complete: false), not a 502 for one dropped call in a few hundred. Past 30 s an outage
# is an outage again. With Redis the last good answers are every worker's: a worker started
# during an outage stands on the others' answers.
_LAST_GOOD = {"TTL": 0, "STALE_IF_ERROR": 30.0}


def _policies_by_upstream(*, redis: bool) -> dict[str, dict[str, Any]]:
    last_good = {**_LAST_GOOD, "BACKEND": "redis" if redis else "memory"}
    return {
        # Analytics is optional and changes slowly: a five-second cache, and its last good
        # answer (marked stale) for five minutes when it fails or its breaker is open.
        "analytics": {
            "CACHE": {
                "TTL": 5.0,
                "STALE_IF_ERROR": 300.0,
                "BACKEND": "redis" if redis else "memory",
            }
        },
        # Inventory is required and on every dashboard: a hedge after its observed p95 cuts
        # the tail of the page for about 5% more inventory requests. The others are either
        # optional (a slow answer costs nothing) or not on the page's critical path.
        "inventory": {"HEDGE": {"DELAY": "p95"}, "CACHE": last_good},
        "notifications": {"CACHE": last_good},
    }


def upstream_urls(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """One base URL per upstream: ``STOREFRONT_UPSTREAM_<NAME>_URL``, default the local simulator."""
    urls = {}
    for name in UPSTREAM_NAMES:
        var = f"STOREFRONT_UPSTREAM_{name.upper()}_URL"
        url = environ.get(var, "").strip() or f"{LOCAL_SIMULATOR_URL}/{name}"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EnvironmentVariableError(
                f"{var} must be an http:// or https:// URL with a host; got {url!r}"
            )
        urls[name] = url.rstrip("/")
    return urls


def chorus_upstreams(
    *, redis_url: str | None, environ: Mapping[str, str] = os.environ
) -> dict[str, dict[str, Any]]:
    """``CHORUS["UPSTREAMS"]``: each upstream's URL, timeout, pool and resilience policies.

    With ``redis_url`` the breakers are shared by every worker, and analytics' cache
    and the last good answers live in Redis; without it all stay in the worker.
    """
    timeout = env_float("STOREFRONT_UPSTREAM_TIMEOUT", 0.5, environ)
    policies = env_bool("STOREFRONT_POLICIES", True, environ)
    breaker = {**_BREAKER, "SHARED": bool(redis_url)}
    by_upstream = _policies_by_upstream(redis=bool(redis_url))
    return {
        name: {
            "BASE_URL": url,
            "TIMEOUT": timeout,
            "MAX_CONNECTIONS": 512,
            **(
                {"BREAKER": breaker, "RETRY": _RETRY, **by_upstream.get(name, {})}
                if policies
                else {}
            ),
        }
        for name, url in upstream_urls(environ).items()
    }


def simulator_url(environ: Mapping[str, str] = os.environ) -> str:
    """``STOREFRONT_SIMULATOR_URL``, or the local simulator when every upstream is it, else ""."""
    configured = environ.get("STOREFRONT_SIMULATOR_URL")
    if configured is not None:
        return configured.strip()
    local = all(
        url == f"{LOCAL_SIMULATOR_URL}/{name}" for name, url in upstream_urls(environ).items()
    )
    return LOCAL_SIMULATOR_URL if local else ""
