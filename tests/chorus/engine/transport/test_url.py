"""UpstreamURL: a call's URL parsed once, read by the transport instead of split per call."""

import pytest

import chorus
from chorus.engine._settings import UpstreamConfig
from chorus.engine.transport._url import UpstreamURL, split_url

INVENTORY = UpstreamConfig(name="inventory", base_url="http://127.0.0.1:8100/inventory")


def test_a_calls_url_carries_the_parts_the_transport_would_split():
    url = chorus.call("inventory", "/items/{sku}", path_params={"sku": "a b"}).url(INVENTORY)
    assert isinstance(url, UpstreamURL)
    assert url == "http://127.0.0.1:8100/inventory/items/a%20b"
    assert (url.origin, url.target, url.host) == split_url(str(url))
    assert url.target == "/inventory/items/a%20b"
    assert url.host == b"127.0.0.1:8100"


def test_the_same_call_gets_the_same_url_object():
    stock = chorus.call("inventory", "/stock")
    assert stock.url(INVENTORY) is stock.url(INVENTORY)


@pytest.mark.parametrize(
    ("url", "origin", "host"),
    [
        ("https://example.com/api", ("https", "example.com", 443), b"example.com"),
        ("http://[::1]:8080/x", ("http", "::1", 8080), b"[::1]:8080"),
    ],
)
def test_parts_follow_the_scheme_and_host(url, origin, host):
    parsed = UpstreamURL.parse(url)
    assert isinstance(parsed, UpstreamURL)
    assert (parsed.origin, parsed.host) == (origin, host)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///x"])
def test_a_url_the_transport_refuses_stays_a_plain_string(url):
    assert type(UpstreamURL.parse(url)) is str
