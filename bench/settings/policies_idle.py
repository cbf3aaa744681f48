"""Storefront with every resilience policy configured on every upstream, and none acting.

For ``bench/compare.py --policies``: the cost of the policy chain itself. Each
call passes the breaker (closed), the retry link (nothing fails), the latency
record and the hedge (a delay no answer reaches), then the bulkhead and the
transport, as a call with no policy does. The cache is left out: configured,
it is never idle (it answers, or makes concurrent callers share one request,
which changes the work measured); the as-shipped run shows it acting.
"""

from storefront.settings import *  # noqa: F403
from storefront.settings import CHORUS

_IDLE = {
    "BREAKER": {"FAILURE_RATE": 0.5, "MINIMUM_CALLS": 10, "WINDOW_SECONDS": 10.0},
    "RETRY": {"ATTEMPTS": 2},
    "HEDGE": {"DELAY": 5.0},
}

CHORUS = {
    **CHORUS,
    "UPSTREAMS": {
        name: {**{k: v for k, v in entry.items() if k != "CACHE"}, **_IDLE}
        for name, entry in CHORUS["UPSTREAMS"].items()
    },
}
