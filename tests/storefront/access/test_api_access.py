"""``/api/`` needs an API key or a staff session; keys are scoped; CSRF applies to sessions only."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from chorus.server import ChorusASGIHandler
from storefront.access.keys import create_key, forget_keys
from storefront.access.models import ApiKey, Scope
from storefront.asgi import application
from storefront.images.workers import beat
from storefront.orders.models import Customer, Order
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops
from tests.storefront.support.routes import api_paths

pytestmark = pytest.mark.django_db(transaction=True)

# Every /api/ route of the URLconf, and one that does not exist: all refuse a stranger alike.
API_ROUTES = (*api_paths(), "/api/no-such-route/")


def order_body(customer_id: int) -> bytes:
    return (
        b'{"customer": %d, "items": [{"sku": "TEA", "qty": 1, "unit_price": "4.50"}]}' % customer_id
    )


@pytest.fixture
def customer() -> Customer:
    return Customer.objects.create(name="Ada", email="ada@example.com")


@pytest.mark.parametrize("path", API_ROUTES)
async def test_without_credentials_every_api_route_is_a_json_401_with_a_challenge(path):
    response = await asgi_request(application, path)
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == 'Bearer realm="storefront"'


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer sf_not-a-key-that-was-ever-made-000000"},
        {"x-api-key": "sf_not-a-key-that-was-ever-made-000000"},
        {"authorization": "Basic c3RhZmY6cGFzc3dvcmQ="},
        {"authorization": "Bearer"},
        {"x-api-key": ""},
    ],
    ids=["unknown bearer", "unknown x-api-key", "basic scheme", "empty bearer", "empty key"],
)
async def test_a_bad_credential_is_a_401_naming_the_token_invalid(headers):
    response = await asgi_request(application, "/api/orders/stats/", headers=headers)
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_either_header_carries_a_key(api_key, read_only_key):
    for headers in (api_key, read_only_key):
        response = await asgi_request(application, "/api/orders/stats/", headers=headers)
        assert response.status == 200


async def test_a_read_only_key_cannot_create_an_order_and_nothing_is_stored(
    read_only_key, customer
):
    response = await asgi_request(
        application,
        "/api/orders/",
        method="POST",
        headers={**read_only_key, "content-type": "application/json"},
        body=order_body(customer.pk),
    )
    assert response.status == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert await Order.objects.acount() == 0


async def test_a_key_request_needs_no_csrf_token(api_key, customer):
    response = await asgi_request(
        application,
        "/api/orders/",
        method="POST",
        headers={**api_key, "content-type": "application/json"},
        body=order_body(customer.pk),
    )
    assert response.status == 201
    assert await Order.objects.acount() == 1


async def test_a_staff_session_reads_the_api(staff_cookie):
    response = await asgi_request(
        application, "/api/orders/stats/", headers={"cookie": staff_cookie}
    )
    assert response.status == 200


async def test_a_staff_session_must_send_the_csrf_token_to_write(staff_cookie, customer):
    headers = {"cookie": staff_cookie, "content-type": "application/json"}
    refused = await asgi_request(
        application, "/api/orders/", method="POST", headers=headers, body=order_body(customer.pk)
    )
    assert refused.status == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert await Order.objects.acount() == 0

    token = "a" * 32
    accepted = await asgi_request(
        application,
        "/api/orders/",
        method="POST",
        headers={
            **headers,
            "cookie": f"{staff_cookie}; csrftoken={token}",
            "x-csrftoken": token,
        },
        body=order_body(customer.pk),
    )
    assert accepted.status == 201


async def test_a_logged_in_user_who_is_not_staff_is_refused(transactional_db):
    user = await get_user_model().objects.acreate_user("clerk", password="clerk-password")
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    response = await asgi_request(application, "/api/orders/stats/", headers={"cookie": cookie})
    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_a_key_revoked_here_stops_working_at_once(api_key):
    assert (await asgi_request(application, "/api/orders/stats/", headers=api_key)).status == 200
    revoked = await ApiKey.objects.aget(name="tests")
    revoked.revoked_at = revoked.created_at
    await revoked.asave()  # the post_save signal empties this process's cache
    assert (await asgi_request(application, "/api/orders/stats/", headers=api_key)).status == 401


async def test_a_key_revoked_elsewhere_stops_working_within_the_cache_ttl(api_key, settings):
    settings.STOREFRONT_API_KEY_CACHE_TTL = 0.3
    forget_keys()  # the fixture cached the key under the default TTL
    url = "/api/orders/stats/"
    assert (await asgi_request(application, url, headers=api_key)).status == 200  # cached now
    # Another process revokes it: no signal reaches this one.
    await ApiKey.objects.filter(name="tests").aupdate(revoked_at=ApiKey.created_at.field.default())
    assert (await asgi_request(application, url, headers=api_key)).status == 200
    await asyncio.sleep(0.35)
    assert (await asgi_request(application, url, headers=api_key)).status == 401


async def test_only_an_uncached_key_costs_a_trip_off_the_event_loop(settings, transactional_db):
    settings.ROOT_URLCONF = "storefront.urls"
    plaintext, _ = await sync_to_async(create_key)(name="hops", scope=Scope.READ)
    headers = {"x-api-key": plaintext}
    handler = ChorusASGIHandler()
    # A short stream: the request gets past authentication, then ends at once.
    short = {"query": "count=1&interval=0.01", "headers": headers}
    first, first_hops = await count_hops(asgi_request(handler, "/api/events/", **short))
    second, second_hops = await count_hops(asgi_request(handler, "/api/events/", **short))
    assert first.status == second.status == 200
    assert first_hops.any  # the database lookup, through the async ORM
    assert not second_hops.any


async def test_keys_are_stored_as_digests_only(transactional_db):
    plaintext, api_key = await sync_to_async(create_key)(name="stored", scope=Scope.READ)
    row = await ApiKey.objects.filter(pk=api_key.pk).values().aget()
    assert plaintext not in str(row)
    assert row["prefix"] == plaintext[:8]
    assert len(row["digest"]) == 64


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_stay_open(path, transactional_db):
    # A task worker's heartbeat, as a worker writes it: /readyz wants one seen recently.
    await sync_to_async(beat)("probe-test", "db", timezone.now())
    assert (await asgi_request(application, path)).status == 200


async def test_the_dashboard_page_sends_anonymous_visitors_to_the_login_page():
    response = await asgi_request(application, "/")
    assert response.status == 302
    assert response.headers["location"] == "/login/?next=/"
    login = await asgi_request(application, "/login/")
    assert login.status == 200
    assert b'name="csrfmiddlewaretoken"' in login.body


async def test_the_admin_stays_behind_djangos_login():
    response = await asgi_request(application, "/admin/")
    assert response.status == 302
    assert response.headers["location"].startswith("/admin/login/")
