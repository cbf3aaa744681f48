"""``GET /metrics``: who may read it, what it answers, and that routes are labelled by
pattern (no label per raw path)."""

from __future__ import annotations

import re

import pytest

from chorus.server import ChorusASGIHandler
from tests.fixtures.asgi import asgi_request

# /metrics also reads the task queue's numbers from the database.
pytestmark = pytest.mark.django_db(transaction=True)

# A public address (the documentation ranges, TEST-NET-*, count as private to ipaddress).
PUBLIC = ("8.8.8.8", 40000)
LOOPBACK = ("127.0.0.1", 40000)
TOKEN = "metrics-token-for-tests-" + "t" * 20


async def get_metrics(address=LOOPBACK, **headers: str):
    # The real ASGI handler: the scope's "client" is what becomes REMOTE_ADDR.
    return await asgi_request(ChorusASGIHandler(), "/metrics", headers=headers, client=address)


@pytest.mark.parametrize(
    "address", [LOOPBACK, ("::1", 1), ("10.1.2.3", 1), ("192.168.0.9", 1), ("::ffff:127.0.0.1", 1)]
)
async def test_loopback_and_private_networks_may_scrape(address):
    response = await get_metrics(address=address)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert b"# TYPE chorus_http_request_duration_seconds histogram" in response.body


async def test_a_public_address_gets_the_plain_404(settings):
    settings.STOREFRONT_METRICS_TOKEN = ""
    response = await get_metrics(address=PUBLIC, authorization=f"Bearer {TOKEN}")
    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_public_address_with_the_token_may_scrape(settings):
    settings.STOREFRONT_METRICS_TOKEN = TOKEN
    assert (await get_metrics(address=PUBLIC)).status == 404
    response = await get_metrics(address=PUBLIC, authorization=f"Bearer {TOKEN}")
    assert response.status == 200
    assert b"chorus_http_responses_total" in response.body


async def test_a_wrong_token_is_refused_with_403_even_from_inside(settings):
    settings.STOREFRONT_METRICS_TOKEN = TOKEN
    for address in (PUBLIC, LOOPBACK):
        response = await get_metrics(address=address, authorization="Bearer not-the-token")
        assert response.status == 403
        assert response.json()["error"]["code"] == "forbidden"


async def test_routes_are_labelled_by_pattern_never_by_path(api_key):
    app = ChorusASGIHandler()
    for pk in (91001, 91002, 91003):
        assert (await asgi_request(app, f"/api/orders/{pk}/", headers=api_key)).status == 404
    await asgi_request(app, "/no/such/page/91004")
    text = (await get_metrics()).body.decode()
    assert 'chorus_http_responses_total{route="/api/orders/<int:pk>/",status="404"}' in text
    assert 'route="unmatched"' in text
    # In the label values only: a sample's value (a start time, a sum) may hold the digits.
    labels = " ".join(re.findall(r'="([^"]*)"', text))
    for pk in ("91001", "91002", "91003", "91004"):
        assert pk not in labels


async def test_metrics_is_exempt_from_the_https_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True
    app = ChorusASGIHandler()  # the middleware reads the security settings when loaded
    assert (await asgi_request(app, "/metrics")).status == 200
    assert (await asgi_request(app, "/login/")).status == 301
