"""The fan-out endpoints through the real ASGI handler, against the simulator."""

import asyncio
import gc
from collections import Counter

import pytest

import chorus
import chorus.testing
import storefront.settings
from storefront.asgi import application
from storefront.orders.models import Customer, Order
from tests.fixtures.asgi import asgi_request

# The dashboard's orders source reads the database (from a worker thread).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_orders_snapshot():
    chorus.testing.reset_policies()


async def test_three_100ms_upstreams_answer_in_about_one_latency(upstreams, api_key):
    response = await asgi_request(application, "/api/dashboard/", headers=api_key)
    body = response.json()
    assert response.status == 200
    assert body["complete"] is True
    assert set(body["data"]) == {"inventory", "notifications", "analytics", "orders"}
    summed = sum(source["ms"] for source in body["sources"].values())
    assert summed >= 285  # each really took ~100 ms ...
    assert body["elapsed_ms"] < summed * 0.6  # ... and they overlapped
    assert response.headers["server-timing"].endswith(f"total;dur={body['elapsed_ms']:.1f}")


async def test_orders_source_counts_todays_orders_from_the_database(upstreams, api_key):
    customer = await Customer.objects.acreate(name="Ada", email="ada@example.com")
    await Order.objects.acreate(customer=customer, status="paid")
    await Order.objects.acreate(customer=customer, status="paid")
    await Order.objects.acreate(customer=customer, status="pending")
    body = (await asgi_request(application, "/api/dashboard/", headers=api_key)).json()
    assert body["sources"]["orders"]["status"] == "ok"
    assert body["data"]["orders"]["paid"] == 2
    assert body["data"]["orders"]["pending"] == 1


async def test_orders_snapshot_is_shared_for_a_second(upstreams, api_key):
    customer = await Customer.objects.acreate(name="Ada", email="ada@example.com")
    first = (await asgi_request(application, "/api/dashboard/", headers=api_key)).json()["data"][
        "orders"
    ]
    await Order.objects.acreate(customer=customer, status="paid")
    second = (await asgi_request(application, "/api/dashboard/", headers=api_key)).json()["data"][
        "orders"
    ]
    assert second == first  # served from the snapshot, not a new query
    chorus.testing.reset_policies()
    third = (await asgi_request(application, "/api/dashboard/", headers=api_key)).json()["data"][
        "orders"
    ]
    assert third["paid"] == first.get("paid", 0) + 1


async def test_hanging_optional_source_leaves_a_partial_200_inside_the_deadline(upstreams, api_key):
    await upstreams.aset_fault("analytics", fault="hang")
    response = await asgi_request(application, "/api/dashboard/", headers=api_key)
    body = response.json()
    assert response.status == 200
    assert response.headers["chorus-complete"] == "false"
    assert body["complete"] is False
    assert body["sources"]["analytics"]["status"] == "timeout"
    assert body["data"]["analytics"] is None
    assert body["data"]["inventory"]["items"]
    assert body["elapsed_ms"] < 2000  # the deadline


async def test_hanging_required_source_is_504(upstreams, api_key):
    await upstreams.aset_fault("inventory", fault="hang")
    response = await asgi_request(application, "/api/dashboard/", headers=api_key)
    assert response.status == 504
    assert response.json()["sources"]["inventory"]["status"] == "timeout"


async def test_a_required_upstream_failing_after_a_good_answer_is_served_stale_in_a_200(
    upstreams, settings, api_key
):
    shipped = storefront.settings.CHORUS["UPSTREAMS"]["notifications"]["CACHE"]
    assert shipped["TTL"] == 0
    # In memory: this test's CHORUS names no Redis (test_cache_store tests the shared store).
    settings.CHORUS["UPSTREAMS"]["notifications"]["CACHE"] = {**shipped, "BACKEND": "memory"}
    settings.CHORUS = settings.CHORUS  # setting_changed: the policies are read again
    good = (await asgi_request(application, "/api/dashboard/", headers=api_key)).json()
    assert good["sources"]["notifications"]["cached"] is False  # TTL 0: always asked
    await upstreams.aset_fault("notifications", status=503)
    response = await asgi_request(application, "/api/dashboard/", headers=api_key)
    body = response.json()
    assert response.status == 200
    assert response.headers["chorus-complete"] == "false"
    notifications = body["sources"]["notifications"]
    assert (notifications["status"], notifications["stale"]) == ("bad_status", True)
    assert notifications["http_status"] == 503
    assert body["data"]["notifications"] == good["data"]["notifications"]
    # With no good answer to fall back on (a new worker), the same failure is a 502.
    chorus.testing.reset_policies()
    response = await asgi_request(application, "/api/dashboard/", headers=api_key)
    assert response.status == 502
    assert response.json()["sources"]["notifications"]["stale"] is False


async def test_failing_required_source_is_502_without_its_error_body(upstreams, api_key):
    await upstreams.aset_fault("billing", status=503)
    response = await asgi_request(application, "/api/aggregate-status/", headers=api_key)
    assert response.status == 502
    assert response.json()["sources"]["billing"]["status"] == "bad_status"
    assert b"hunter2" not in response.body
    assert b"Traceback" not in response.body


async def test_aggregate_status_gathers_users_and_billing(upstreams, api_key):
    response = await asgi_request(application, "/api/aggregate-status/", headers=api_key)
    body = response.json()
    assert response.status == 200
    assert body["data"]["users"]["active_users"] > 0
    assert body["data"]["billing"]["currency"] == "EUR"


async def test_client_disconnect_cancels_every_upstream_call(upstreams, api_key):
    for name in ("inventory", "notifications", "analytics"):
        await upstreams.aset_fault(name, latency_ms=1500)
    await asgi_request(application, "/api/dashboard/", disconnect_after=0.2, headers=api_key)
    for _ in range(50):
        services = (await upstreams.astats())["services"]
        if all(
            services[n]["disconnects"] == 1 for n in ("inventory", "notifications", "analytics")
        ):
            break
        await asyncio.sleep(0.05)
    for name in ("inventory", "notifications", "analytics"):
        assert services[name]["disconnects"] == 1
        assert services[name]["in_flight"] == 0


async def test_sync_baseline_makes_the_calls_one_after_another(upstreams, api_key):
    response = await asgi_request(application, "/api/sync/dashboard/", headers=api_key)
    body = response.json()
    assert response.status == 200
    assert body["complete"] is True
    assert body["elapsed_ms"] >= sum(source["ms"] for source in body["sources"].values()) * 0.95
    assert body["elapsed_ms"] >= 285


async def test_a_key_request_leaves_no_reference_cycle_behind(upstreams, api_key):
    await assert_freed_without_the_cycle_collector(api_key)


async def assert_freed_without_the_cycle_collector(headers):
    """Each request is freed by reference counting, not left to the cyclic collector.

    A request caught in a cycle (a view holding a bound method of itself, a lazy
    user closing over its request) is freed only by the cyclic garbage collector,
    which then runs every few dozen requests at about a tenth of the CPU.
    """
    assert (await asgi_request(application, "/api/dashboard/", headers=headers)).status == 200
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            response = await asgi_request(application, "/api/dashboard/", headers=headers)
            assert response.status == 200
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        leaked = Counter(type(thing).__name__ for thing in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    stranded = {name for name in leaked if name in ("ASGIRequest", "Dashboard", "HttpResponse")}
    assert not stranded, leaked.most_common(12)


async def test_upstream_policies_report_each_upstreams_breaker_budget_and_cache(
    settings, simulator, api_key
):
    settings.CHORUS = {
        "UPSTREAMS": {
            "analytics": {
                "BASE_URL": simulator.service_url("analytics"),
                "BREAKER": {"MINIMUM_CALLS": 2, "WINDOW": 2},
                "RETRY": {"ATTEMPTS": 2},
                "CACHE": {"TTL": 60.0},
            },
            "inventory": {"BASE_URL": simulator.service_url("inventory")},
        },
    }
    await chorus.gather(a=chorus.call("analytics", "/summary"))
    await chorus.gather(a=chorus.call("analytics", "/summary"))
    response = await asgi_request(application, "/api/upstreams/", headers=api_key)
    assert response.status == 200
    report = response.json()["upstreams"]
    assert report["analytics"]["breaker"]["state"] == "closed"
    assert report["analytics"]["retry_budget"]["calls"] == 1
    assert report["analytics"]["cache"] == {
        "hits": 1,
        "misses": 1,
        "coalesced": 0,
        "stale": 0,
        "shared_errors": 0,
    }
    assert report["inventory"] == {
        "breaker": None,
        "retry_budget": None,
        "cache": None,
        "p95_ms": None,
    }
