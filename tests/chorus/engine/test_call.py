"""Building calls: request values are encoded so they can never leave the upstream's base URL."""

import pytest

from chorus import Call, UnsafeRequestError, call
from chorus.engine._settings import UpstreamConfig

INVENTORY = UpstreamConfig(name="inventory", base_url="http://127.0.0.1:8100/inventory")

INJECTIONS = [
    "../billing/summary",
    "..",
    ".",
    "//evil.example/x",
    "@evil.example",
    "x%2F..%2F..%2Fbilling",
    "a/b",
    "sku\r\nHost: evil.example",
    "http://evil.example/",
    "?admin=1",
    "#frag",
    "\\..\\billing",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_path_params_stay_one_segment_under_the_base_path(value):
    try:
        built = call("inventory", "/items/{sku}", path_params={"sku": value})
    except UnsafeRequestError:
        return  # refusing is as safe as encoding
    url = built.url(INVENTORY)
    assert url.startswith("http://127.0.0.1:8100/inventory/items/")
    segment = url.removeprefix("http://127.0.0.1:8100/inventory/items/")
    assert "/" not in segment
    assert not any(char in segment for char in "?#@\\\r\n")


@pytest.mark.parametrize("value", ["..", ".", ""])
def test_dot_segments_are_refused(value):
    with pytest.raises(UnsafeRequestError, match="not a usable segment"):
        call("inventory", "/items/{sku}", path_params={"sku": value})


@pytest.mark.parametrize(
    "path",
    [
        "/../billing",
        "/items/../../billing",
        "//evil.example/x",
        "/items/%2e%2e/billing",
        "/items/%2F/x",
        "/items\\..\\billing",
        "/items?x=1",
        "/items#x",
        "/items/\r\nX: y",
        "/it ems",
    ],
)
def test_unsafe_literal_paths_are_refused(path):
    with pytest.raises(UnsafeRequestError):
        call("inventory", path)


def test_ordinary_values_are_percent_encoded():
    built = call("inventory", "/items/{sku}", path_params={"sku": "SKU 1/2@x"})
    assert built.url(INVENTORY) == "http://127.0.0.1:8100/inventory/items/SKU%201%2F2%40x"


def test_query_values_are_kept_as_pairs_for_the_client_to_encode():
    built = call("inventory", "/stock", params={"q": "a&b=c\r\n", "tag": ["x", 2], "skip": None})
    assert built.params == (("q", "a&b=c\r\n"), ("tag", "x"), ("tag", "2"))


def test_query_values_of_other_types_are_refused():
    with pytest.raises(TypeError, match="query values"):
        call("inventory", "/stock", params={"flag": True})


def test_header_values_with_line_breaks_are_refused():
    with pytest.raises(UnsafeRequestError, match="line break"):
        call("inventory", "/stock", headers={"X-Trace": "a\r\nHost: evil"})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Evil\r\nInjected": "1"}, "line break"),
        ({"A:B": "1"}, "not a valid HTTP header"),
        ({"Content-Length": "0"}, "the transport's to set"),
        ({"Host": "evil.example"}, "the transport's to set"),
    ],
)
def test_header_names_are_checked_when_the_call_is_made(headers, reason):
    with pytest.raises(UnsafeRequestError, match=reason):
        call("inventory", "/stock", headers=headers)


def test_a_call_made_directly_has_its_headers_checked_too():
    with pytest.raises(UnsafeRequestError, match="line break"):
        Call(upstream="inventory", path="/stock", headers=(("X-Trace", "a\r\nHost: evil"),))


def test_missing_path_param_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\{sku\} needs a plain value"):
        call("inventory", "/items/{sku}")


def test_timeout_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        call("inventory", "/stock", timeout=0)


def test_unsupported_method_is_refused():
    with pytest.raises(ValueError, match="unsupported method"):
        call("inventory", "/stock", method="TRACE")


def test_relative_path_is_joined_under_the_base():
    assert call("inventory", "stock").url(INVENTORY) == "http://127.0.0.1:8100/inventory/stock"
