"""``/api/simulator/faults/``: the dashboard's fault controls, forwarding to the real simulator."""

import pytest

from storefront.asgi import application
from tests.fixtures.asgi import asgi_request


@pytest.fixture
def simulator_in_use(settings, upstreams):
    settings.STOREFRONT_SIMULATOR_URL = upstreams.url
    return upstreams


@pytest.fixture
async def csrf(staff_cookie):
    """Headers of a staff session that has loaded the page: its cookies and the page's token."""
    page = await asgi_request(application, "/", headers={"cookie": staff_cookie})
    cookie = page.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("csrftoken=")
    return {"cookie": f"{staff_cookie}; {cookie}", "x-csrftoken": cookie.partition("=")[2]}


async def send(method, path, csrf, body=b""):
    headers = {**csrf, "content-type": "application/json"}
    return await asgi_request(application, path, method=method, body=body, headers=headers)


async def test_put_forwards_a_fault_to_the_simulator(simulator_in_use, csrf):
    response = await send(
        "PUT", "/api/simulator/faults/analytics", csrf, b'{"fault": "hang", "rate": 0.5}'
    )
    assert response.status == 200
    assert response.json()["fault"] == "hang"
    listing = (await asgi_request(application, "/api/simulator/faults/", headers=csrf)).json()
    assert listing["services"]["analytics"]["fault"] == "hang"
    assert listing["services"]["analytics"]["rate"] == 0.5
    assert listing["services"]["inventory"]["fault"] is None


async def test_delete_restores_the_defaults(simulator_in_use, csrf):
    await simulator_in_use.aset_fault("billing", status=503)
    response = await send("DELETE", "/api/simulator/faults/billing", csrf)
    assert response.status == 200
    assert response.json()["status"] == 200


async def test_an_unknown_service_is_a_404_and_reaches_nothing(simulator_in_use, csrf):
    response = await send("PUT", "/api/simulator/faults/payments", csrf, b'{"fault": "hang"}')
    assert response.status == 404
    assert response.json()["error"]["code"] == "unknown_service"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"fault": "explode"}',
        b'{"latency_ms": -1}',
        b'{"latency_ms": 1e9}',
        b'{"status": 99}',
        b'{"status": 503.5}',
        b'{"rate": true}',
        b'{"oversize_bytes": 1}',
        b'{"latency_ms": 1, "padding": "' + b"x" * 5000 + b'"}',
    ],
)
async def test_a_bad_body_is_a_json_400_and_the_simulator_is_left_alone(
    simulator_in_use, csrf, body
):
    response = await send("PUT", "/api/simulator/faults/inventory", csrf, body)
    assert response.status == 400
    # Unparsable JSON is refused for every API route before the view (storefront.http.body).
    expected = "malformed_json" if body == b"not json" else "bad_fault"
    assert response.json()["error"]["code"] == expected
    listing = await simulator_in_use.astats()
    assert listing["services"]["inventory"]["requests"] == 0
    faults = (await asgi_request(application, "/api/simulator/faults/", headers=csrf)).json()
    assert faults["services"]["inventory"]["latency_ms"] == 100


async def test_without_the_simulator_every_route_is_a_404(settings, csrf):
    settings.STOREFRONT_SIMULATOR_URL = ""
    for method, path in (
        ("GET", "/api/simulator/faults/"),
        ("DELETE", "/api/simulator/faults/users"),
    ):
        response = await send(method, path, csrf)
        assert response.status == 404
        assert response.json()["error"]["code"] == "simulator_not_in_use"


async def test_an_unreachable_simulator_is_a_502(settings, simulator_in_use, csrf):
    settings.STOREFRONT_SIMULATOR_URL = "http://127.0.0.1:9"
    response = await asgi_request(application, "/api/simulator/faults/", headers=csrf)
    assert response.status == 502
    assert response.json()["error"]["code"] == "simulator_unreachable"


async def test_changes_need_the_csrf_token(simulator_in_use, csrf):
    without_token = {"cookie": csrf["cookie"]}
    response = await send(
        "PUT", "/api/simulator/faults/analytics", without_token, b'{"fault": "hang"}'
    )
    assert response.status == 403
    assert (await simulator_in_use.astats())["services"]["analytics"]["requests"] == 0
    faults = (await asgi_request(application, "/api/simulator/faults/", headers=csrf)).json()
    assert faults["services"]["analytics"]["fault"] is None
