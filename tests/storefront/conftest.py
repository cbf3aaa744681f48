"""Storefront's own fixtures: API keys, staff sessions, and rate-limit windows empty for each test."""

from tests.fixtures.auth import api_key, read_only_key, staff_cookie, staff_user
from tests.fixtures.ratelimit import _close_rate_limiter, _full_buckets

__all__ = [
    "_close_rate_limiter",
    "_full_buckets",
    "api_key",
    "read_only_key",
    "staff_cookie",
    "staff_user",
]
