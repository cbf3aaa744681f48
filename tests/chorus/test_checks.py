"""One test per system-check id: each bad CHORUS setting is reported with its own id."""

import pytest
from django.core import checks

from chorus.checks import check_middleware, check_settings

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


def middleware_ids(settings, middleware):
    settings.MIDDLEWARE = middleware
    return [message.id for message in check_middleware()]


def test_async_native_middleware_passes(settings):
    assert middleware_ids(settings, ["chorus.RequestIDMiddleware"]) == []


def test_w002_sync_only_middleware(settings):
    assert middleware_ids(settings, ["tests.chorus.sync_middleware.SyncOnly"]) == ["chorus.W002"]


def test_w003_middleware_mixin_hooks_hop(settings):
    assert middleware_ids(settings, ["django.middleware.common.CommonMiddleware"]) == [
        "chorus.W003"
    ]


def test_storefront_stack_has_no_middleware_warnings():
    assert check_middleware() == []
