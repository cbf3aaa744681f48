"""/api/ access decided on the headers: a stranger's body is never read."""

import asyncio
import contextlib

import orjson
import pytest

from storefront.asgi import application
from tests.fixtures.asgi import asgi_request
from tests.fixtures.uvicorn_server import serving

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = orjson.dumps({"customer": 1, "items": [{"sku": "A1", "qty": 1, "unit_price": "1.00"}]})


def _post(headers: dict[str, str], body: bytes = ORDER) -> dict:
    return {
        "method": "POST",
        "headers": {
            "content-type": "application/json",
            "content-length": str(len(body)),
            **headers,
        },
        "body": body,
    }


async def test_no_credentials_is_a_401_before_the_body_is_read():
    response = await asgi_request(application, "/api/orders/", **_post({}))
    assert response.status == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["connection"] == "close"
    assert response.body_messages_read == 0


async def test_an_unknown_key_is_a_401_before_the_body_is_read():
    headers = {"x-api-key": "sf_" + "x" * 43}
    response = await asgi_request(application, "/api/orders/", **_post(headers))
    assert response.status == 401
    assert response.body_messages_read == 0


async def test_a_read_only_key_may_not_send_a_body(read_only_key):
    response = await asgi_request(application, "/api/orders/", **_post(read_only_key))
    assert response.status == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert response.body_messages_read == 0


async def test_a_write_key_gets_its_body_read(api_key):
    response = await asgi_request(application, "/api/orders/", **_post(api_key))
    assert response.body_messages_read == 1
    assert response.status == 400  # no customer 1 here: the view read and judged the body
    assert response.json()["error"]["code"] == "unknown_customer"


async def test_a_session_cookie_is_checked_after_the_body_by_the_middleware():
    response = await asgi_request(
        application, "/api/orders/", **_post({"cookie": "sessionid=not-a-session"})
    )
    assert response.body_messages_read == 1
    assert response.status == 401


async def test_bodiless_requests_are_not_gated():
    response = await asgi_request(application, "/api/orders/recent/")
    assert response.status == 401
    assert response.headers.get("connection") != "close"


async def test_over_uvicorn_a_stranger_gets_no_100_continue():
    async with serving(application) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(
                b"POST /api/orders/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 60000\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            answer = await asyncio.wait_for(reader.read(65536), 5)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"100 Continue" not in answer
