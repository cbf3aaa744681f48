"""The HTTP plumbing's settings: each default written once in http/conf.py, each overridable."""

from __future__ import annotations

from storefront.http.conf import conf
from storefront.http.ratelimit import limit_for


def test_the_body_limit_defaults_to_64_kib_and_follows_settings(settings) -> None:
    del settings.STOREFRONT_API_MAX_BODY_BYTES
    assert conf.api_max_body_bytes == 64 * 1024
    settings.STOREFRONT_API_MAX_BODY_BYTES = 100
    assert conf.api_max_body_bytes == 100


def test_rate_limits_default_per_kind(settings) -> None:
    del settings.STOREFRONT_RATE_LIMITS
    assert (limit_for("API").rate, limit_for("API").burst) == (1000.0, 2000)
    assert (limit_for("ANONYMOUS").rate, limit_for("ANONYMOUS").burst) == (20.0, 200)


def test_a_rate_limit_key_left_out_takes_its_default_alone(settings) -> None:
    settings.STOREFRONT_RATE_LIMITS = {"API": {"RATE": 0}}
    assert (limit_for("API").rate, limit_for("API").burst) == (0.0, 2000)
    assert (limit_for("ANONYMOUS").rate, limit_for("ANONYMOUS").burst) == (20.0, 200)
