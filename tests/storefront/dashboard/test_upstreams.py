"""The dashboard's upstreams and their policies, built from the environment (dashboard/upstreams.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from storefront.dashboard.upstreams import (
    LOCAL_SIMULATOR_URL,
    UPSTREAM_NAMES,
    chorus_upstreams,
    simulator_url,
    upstream_urls,
)
from upstreams.catalog import SERVICES


def test_storefront_names_the_services_the_simulator_plays() -> None:
    assert UPSTREAM_NAMES == SERVICES


def test_upstream_urls_default_to_the_local_simulator() -> None:
    urls = upstream_urls({})
    assert list(urls) == list(UPSTREAM_NAMES)
    assert urls["inventory"] == "http://127.0.0.1:8100/inventory"
    assert urls["billing"] == "http://127.0.0.1:8100/billing"


def test_upstream_url_override_applies_to_that_upstream_alone() -> None:
    urls = upstream_urls({"STOREFRONT_UPSTREAM_BILLING_URL": "https://billing.example/v2/"})
    assert urls["billing"] == "https://billing.example/v2"
    assert urls["users"] == "http://127.0.0.1:8100/users"


@pytest.mark.parametrize("url", ["ftp://billing.example", "billing.example", "http://"])
def test_upstream_url_must_be_http_naming_the_variable(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^STOREFRONT_UPSTREAM_BILLING_URL must be"):
        upstream_urls({"STOREFRONT_UPSTREAM_BILLING_URL": url})


def test_every_upstream_gets_a_breaker_and_a_retry_and_some_more() -> None:
    upstreams = chorus_upstreams(redis_url=None, environ={})
    assert all(set(u) >= {"BASE_URL", "TIMEOUT", "BREAKER", "RETRY"} for u in upstreams.values())
    assert upstreams["users"]["TIMEOUT"] == 0.5
    assert upstreams["inventory"]["HEDGE"] == {"DELAY": "p95"}
    assert upstreams["inventory"]["CACHE"]["STALE_IF_ERROR"] == 30.0
    assert upstreams["analytics"]["CACHE"]["BACKEND"] == "memory"
    assert upstreams["inventory"]["CACHE"]["BACKEND"] == "memory"
    assert upstreams["billing"]["BREAKER"]["SHARED"] is False


def test_with_redis_breakers_caches_and_last_good_answers_are_shared() -> None:
    upstreams = chorus_upstreams(redis_url="redis://cache:6379/0", environ={})
    assert upstreams["billing"]["BREAKER"]["SHARED"] is True
    assert upstreams["analytics"]["CACHE"]["BACKEND"] == "redis"
    assert upstreams["inventory"]["CACHE"] == {"TTL": 0, "STALE_IF_ERROR": 30.0, "BACKEND": "redis"}
    assert upstreams["notifications"]["CACHE"]["BACKEND"] == "redis"


def test_policies_off_leaves_url_timeout_and_pool_alone() -> None:
    environ = {"STOREFRONT_POLICIES": "0", "STOREFRONT_UPSTREAM_TIMEOUT": "0.8"}
    upstreams = chorus_upstreams(redis_url="redis://cache:6379/0", environ=environ)
    assert upstreams["inventory"] == {
        "BASE_URL": "http://127.0.0.1:8100/inventory",
        "TIMEOUT": 0.8,
        "MAX_CONNECTIONS": 512,
    }


def test_fault_controls_point_at_the_local_simulator_while_every_upstream_is_it() -> None:
    assert simulator_url({}) == LOCAL_SIMULATOR_URL
    remote = {"STOREFRONT_UPSTREAM_USERS_URL": "https://users.internal"}
    assert simulator_url(remote) == ""
    assert simulator_url({**remote, "STOREFRONT_SIMULATOR_URL": " http://sim:8100 "}) == (
        "http://sim:8100"
    )
