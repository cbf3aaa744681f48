import pytest

from chorus import ConfigurationError, UnknownUpstreamError, get_settings


def test_settings_are_read_into_frozen_config(settings):
    settings.CHORUS = {
        "UPSTREAMS": {
            "billing": {
                "BASE_URL": "http://127.0.0.1:9/billing/",
                "TIMEOUT": 0.25,
                "FORWARD_HEADERS": ["X-Request-ID"],
            }
        },
        "DEFAULT_DEADLINE": 1.5,
    }
    conf = get_settings()
    billing = conf.upstream("billing")
    assert billing.base_url == "http://127.0.0.1:9/billing"
    assert billing.timeout == 0.25
    assert billing.forward_headers == ("x-request-id",)
    assert conf.default_deadline == 1.5
    with pytest.raises(AttributeError):
        billing.timeout = 3  # type: ignore[misc]


def test_override_settings_is_seen_at_once(settings):
    settings.CHORUS = {"UPSTREAMS": {"a": {"BASE_URL": "http://127.0.0.1:9/a"}}}
    assert list(get_settings().upstreams) == ["a"]
    settings.CHORUS = {"UPSTREAMS": {"b": {"BASE_URL": "http://127.0.0.1:9/b"}}}
    assert list(get_settings().upstreams) == ["b"]


def test_invalid_settings_refuse_to_load(settings):
    settings.CHORUS = {"UPSTREAMS": {"a": {"BASE_URL": "ftp://x"}}}
    with pytest.raises(ConfigurationError, match=r"chorus\.E003"):
        get_settings()


def test_unknown_upstream_names_the_configured_ones(settings):
    settings.CHORUS = {"UPSTREAMS": {"a": {"BASE_URL": "http://127.0.0.1:9/a"}}}
    with pytest.raises(UnknownUpstreamError, match=r"'nope' \(configured: a\)"):
        get_settings().upstream("nope")
