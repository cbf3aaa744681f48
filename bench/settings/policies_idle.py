"""Storefront with every resilience policy configured on every upstream, and none acting.

For ``bench/compare.py --policies``: the cost of the policy chain itself. Each
call passes the cache (a TTL so short that every call misses, so the lookup,
the singleflight and the store all run), the breaker (closed), the retry link
(nothing fails) and the hedge (a delay no answer reaches), then the bulkhead
and the transport, as a call with no policy does.
"""

from storefront.settings import *  # noqa: F403
from storefront.settings import CHORUS

_IDLE = {
    "BREAKER": {"FAILURE_RATE": 0.5, "MINIMUM_CALLS": 10, "WINDOW_SECONDS": 10.0},
    "RETRY": {"ATTEMPTS": 2},
    "HEDGE": {"DELAY": 5.0},
    "CACHE": {"TTL": 0.000001},
}

CHORUS = {
    **CHORUS,
    "UPSTREAMS": {name: {**entry, **_IDLE} for name, entry in CHORUS["UPSTREAMS"].items()},
}
