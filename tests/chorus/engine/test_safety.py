"""Request values never steer a call to another host or out of the upstream's base path."""

import pytest

import chorus
from chorus import Outcome, UnsafeRequestError

INJECTIONS = [
    "../billing",
    "..%2Fbilling",
    "%2e%2e",
    "//evil.example/x",
    "@evil.example",
    "x/../../billing",
    "sku\r\nHost: evil.example",
    "http://127.0.0.1:1/",
    "?fault=hang",
    "#x",
]


@pytest.fixture
def evil_and_inventory(settings, recorder, simulator):
    """``inventory`` on the simulator; a second server, ``recorder``, stands for any other host."""
    settings.CHORUS = {"UPSTREAMS": {"inventory": {"BASE_URL": simulator.service_url("inventory")}}}
    return recorder, simulator


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injected_path_param_stays_under_the_base_path(evil_and_inventory, value):
    evil, simulator = evil_and_inventory
    try:
        spec = chorus.call("inventory", "/items/{sku}", path_params={"sku": value}, required=False)
    except UnsafeRequestError:
        spec = None
    if spec is not None:
        result = await chorus.gather(item=spec, deadline=2)
        assert result.sources["item"].outcome in (Outcome.OK, Outcome.BAD_STATUS)
    stats = (await simulator.astats())["services"]
    assert evil.requests == []
    seen = [path for service in stats.values() for path in service["paths"]]
    assert all(path.startswith("/items/") and path.count("/") == 2 for path in seen), seen
    assert all(s["requests"] == 0 for name, s in stats.items() if name != "inventory")


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injected_query_value_stays_in_the_query(evil_and_inventory, value):
    evil, simulator = evil_and_inventory
    result = await chorus.gather(
        stock=chorus.call("inventory", "/stock", params={"q": value}), deadline=2
    )
    assert result.sources["stock"].ok
    stats = (await simulator.astats())["services"]
    assert evil.requests == []
    assert list(stats["inventory"]["paths"]) == ["/stock"]


async def test_redirects_are_not_followed(settings, recorder):
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": recorder.url + "/svc"}}}
    result = await chorus.gather(x=chorus.call("svc", "/redirect"), deadline=2)
    assert result.sources["x"].outcome is Outcome.BAD_STATUS
    assert result.sources["x"].http_status == 302
    assert [r.path for r in recorder.requests] == ["/svc/redirect"]


async def test_only_allowlisted_headers_are_forwarded(settings, recorder, rf):
    settings.CHORUS = {
        "UPSTREAMS": {
            "svc": {"BASE_URL": recorder.url + "/svc", "FORWARD_HEADERS": ["X-Request-ID"]}
        }
    }
    incoming = rf.get("/", headers={"X-Request-ID": "req-1", "Authorization": "Bearer secret"})
    result = await chorus.gather(x=chorus.call("svc", "/a"), request=incoming, deadline=2)
    assert result.sources["x"].ok
    sent = recorder.requests[0].headers
    assert sent["X-Request-ID"] == "req-1"
    assert "Authorization" not in sent
    assert "Cookie" not in sent
