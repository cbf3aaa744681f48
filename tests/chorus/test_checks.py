"""One test per system-check id: each bad CHORUS setting is reported with its own id.

(The middleware checks, W002 and W003: server/test_middleware_checks.py.)
"""

import pytest
from django.core import checks

from chorus._checks import check_settings

GOOD_UPSTREAM = {"BASE_URL": "http://127.0.0.1:8100/inventory", "TIMEOUT": 0.3}


def ids_for(settings, chorus_setting):
    settings.CHORUS = chorus_setting
    return [message.id for message in check_settings()]


def test_valid_setting_reports_nothing(settings):
    assert ids_for(settings, {"UPSTREAMS": {"inventory": GOOD_UPSTREAM}}) == []


def test_checks_are_registered_with_django(settings):
    settings.CHORUS = {"UPSTREAMS": {"inventory": {**GOOD_UPSTREAM, "TIMEOUT": 0}}}
    assert "chorus.E004" in [m.id for m in checks.run_checks(tags=["chorus"])]


@pytest.mark.parametrize("bad", [["not", "a", "dict"], {"UPSTREAMZ": {}}, {"UPSTREAMS": []}])
def test_e001_malformed_top_level(settings, bad):
    assert ids_for(settings, bad) == ["chorus.E001"]


def test_e002_unknown_upstream_key(settings):
    assert ids_for(settings, {"UPSTREAMS": {"inventory": {**GOOD_UPSTREAM, "TIMEOUTT": 1}}}) == [
        "chorus.E002"
    ]


@pytest.mark.parametrize(
    "url",
    [
        None,
        "ftp://example.com/x",
        "http://",
        "/relative/path",
        "http://user:secret@example.com/x",
        "http://example.com/x?token=1",
    ],
)
def test_e003_base_url_must_be_plain_http(settings, url):
    upstream = {**GOOD_UPSTREAM, "BASE_URL": url}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E003"]


@pytest.mark.parametrize(
    ("key", "value"), [("TIMEOUT", 0), ("TIMEOUT", -1), ("CONNECT_TIMEOUT", "1"), ("TIMEOUT", True)]
)
def test_e004_timeouts_must_be_positive_seconds(settings, key, value):
    upstream = {**GOOD_UPSTREAM, key: value}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E004"]


def test_e004_deadline_must_be_positive(settings):
    assert ids_for(settings, {"DEFAULT_DEADLINE": 0, "UPSTREAMS": {}}) == ["chorus.E004"]


def test_none_timeout_means_no_limit_and_is_allowed(settings):
    upstream = {**GOOD_UPSTREAM, "TIMEOUT": None}
    assert ids_for(settings, {"DEFAULT_DEADLINE": None, "UPSTREAMS": {"inventory": upstream}}) == []


@pytest.mark.parametrize(("key", "value"), [("MAX_CONNECTIONS", 0), ("MAX_BODY_BYTES", 1.5)])
def test_e005_sizes_must_be_positive_integers(settings, key, value):
    upstream = {**GOOD_UPSTREAM, key: value}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E005"]


@pytest.mark.parametrize("headers", ["X-Request-ID", ["Bad Header"], ["Host"], ["Content-Length"]])
def test_e006_forward_headers_must_be_forwardable_names(settings, headers):
    upstream = {**GOOD_UPSTREAM, "FORWARD_HEADERS": headers}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E006"]


@pytest.mark.parametrize("name", ["Inventory", "has space", "", "x" * 70])
def test_e007_upstream_names_are_header_safe(settings, name):
    assert ids_for(settings, {"UPSTREAMS": {name: GOOD_UPSTREAM}}) == ["chorus.E007"]


def test_w001_timeout_longer_than_deadline(settings):
    upstream = {**GOOD_UPSTREAM, "TIMEOUT": 5}
    assert ids_for(settings, {"DEFAULT_DEADLINE": 1, "UPSTREAMS": {"inventory": upstream}}) == [
        "chorus.W001"
    ]


@pytest.mark.parametrize(
    "breaker",
    [
        "on",
        {"FAILURE_RATE": 1.5},
        {"MINIMUM_CALLS": 0},
        {"COOL_DOWN": -1},
        {"SHARED": "yes"},
        {"MINIMUM_CALLS": 20, "WINDOW": 10},
        {"FAILURE_RATIO": 0.5},
    ],
)
def test_e008_breaker_settings(settings, breaker):
    upstream = {**GOOD_UPSTREAM, "BREAKER": breaker}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E008"]


@pytest.mark.parametrize(
    "retry",
    [
        {"ATTEMPTS": 0},
        {"ON": "error"},
        {"ON": ["timeout"]},  # a timeout of the call's own time is never retried
        {"ON": [200]},
        {"BUDGET": 2},
        {"BACKOFF": 1.0, "MAX_BACKOFF": 0.1},
    ],
)
def test_e009_retry_settings(settings, retry):
    upstream = {**GOOD_UPSTREAM, "RETRY": retry}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E009"]


@pytest.mark.parametrize("hedge", [{"DELAY": "p99"}, {"DELAY": 0}, {"MIN_DELAY": None}, []])
def test_e010_hedge_settings(settings, hedge):
    upstream = {**GOOD_UPSTREAM, "HEDGE": hedge}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E010"]


@pytest.mark.parametrize(
    "cache", [{}, {"TTL": -1}, {"TTL": 1, "BACKEND": "disk"}, {"TTL": 1, "STALE_IF_ERROR": -1}]
)
def test_e011_cache_settings(settings, cache):
    upstream = {**GOOD_UPSTREAM, "CACHE": cache}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == ["chorus.E011"]


def test_a_cache_of_ttl_0_that_only_stands_in_for_failures_is_valid(settings):
    upstream = {**GOOD_UPSTREAM, "CACHE": {"TTL": 0, "STALE_IF_ERROR": 30.0}}
    assert ids_for(settings, {"UPSTREAMS": {"inventory": upstream}}) == []


@pytest.mark.parametrize(
    "chorus_setting",
    [
        {"REDIS_URL": "http://127.0.0.1:6379", "UPSTREAMS": {}},
        {"UPSTREAMS": {"inventory": {**GOOD_UPSTREAM, "BREAKER": {"SHARED": True}}}},
        {"UPSTREAMS": {"inventory": {**GOOD_UPSTREAM, "CACHE": {"TTL": 1, "BACKEND": "redis"}}}},
    ],
)
def test_e012_shared_state_needs_a_redis_url(settings, chorus_setting):
    assert ids_for(settings, chorus_setting) == ["chorus.E012"]


@pytest.mark.parametrize("metrics", ["yes", 1, None])
def test_e015_metrics_is_true_or_false(settings, metrics):
    assert ids_for(settings, {"METRICS": metrics}) == ["chorus.E015"]


def test_every_policy_configured_well_reports_nothing(settings):
    upstream = {
        **GOOD_UPSTREAM,
        "BREAKER": {"FAILURE_RATE": 0.5, "WINDOW_SECONDS": 10.0, "SHARED": True},
        "RETRY": {"ATTEMPTS": 2, "ON": ["error", "connect_timeout", 503]},
        "HEDGE": {"DELAY": "p95"},
        "CACHE": {"TTL": 5.0, "STALE_IF_ERROR": 60.0, "BACKEND": "redis"},
    }
    chorus_setting = {"REDIS_URL": "redis://127.0.0.1:6379/0", "UPSTREAMS": {"inventory": upstream}}
    assert ids_for(settings, chorus_setting) == []
