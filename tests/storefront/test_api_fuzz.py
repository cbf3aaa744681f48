"""Random paths, methods, headers and bodies at every API route, through the real ASGI stack.

Whatever arrives: no 500, no stack trace in a body, every error on ``/api/`` in
the JSON envelope, and a refused request leaves the database as it was.
Upstreams point at a closed port (they fail fast, as a 502/504, not a 500) and
streams are cut short by a client that leaves, so examples take milliseconds.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chorus.server import ChorusASGIHandler
from storefront.access.models import ApiKey
from storefront.dashboard.upstreams import UPSTREAM_NAMES
from storefront.orders.models import Customer, Order, OrderItem
from tests.fixtures.asgi import asgi_request
from tests.storefront.support.routes import api_paths

pytestmark = pytest.mark.django_db(transaction=True)

# Every /api/ route of the URLconf, plus values its converters and views must refuse.
ROUTES = (
    *api_paths(),
    "/api/orders/999999999999999999999/",
    "/api/simulator/faults/nonsense",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
)
WEIRD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


def paths() -> st.SearchStrategy[str]:
    suffix = st.text(alphabet="abcz019-_./%~:;@!$&'()*+,=é ", max_size=30)
    return st.one_of(
        st.sampled_from(ROUTES),
        st.builds(lambda route, extra: route + extra, st.sampled_from(ROUTES), suffix),
        st.builds(lambda extra: "/api/" + extra, suffix),
    )


def bodies() -> st.SearchStrategy[bytes]:
    order = st.fixed_dictionaries(
        {"customer": st.integers(-5, 10**20), "items": st.lists(st.dictionaries(
            st.sampled_from(["sku", "qty", "unit_price", "x"]),
            st.one_of(st.integers(), st.text(max_size=10), st.floats(), st.none()),
        ), max_size=3)}
    )  # fmt: skip
    return st.one_of(
        st.just(b""),
        st.binary(max_size=300),
        WEIRD_TEXT.map(str.encode),
        order.map(lambda value: repr(value).replace("'", '"').encode()),
        st.sampled_from([b"{}", b"[]", b"null", b'{"fault": "hang"}', b"{" * 200, b"1e999999"]),
    )


def header_sets(
    credentials: st.SearchStrategy[dict[str, str]],
) -> st.SearchStrategy[dict[str, str]]:
    content_type = st.one_of(st.sampled_from(CONTENT_TYPES), HEADER_TEXT)
    extras = st.dictionaries(
        st.sampled_from(
            [
                "content-length",
                "accept",
                "x-request-id",
                "last-event-id",
                "x-csrftoken",
                "if-none-match",
                "transfer-encoding",
                "host",
            ]
        ),
        st.one_of(HEADER_TEXT, st.integers(0, 10**9).map(str)),
        max_size=3,
    )
    return st.builds(
        lambda c, t, e: {**e, **c, "content-type": t}, credentials, content_type, extras
    )


def keyed(key: str) -> st.SearchStrategy[dict[str, str]]:
    return st.sampled_from([{"authorization": f"Bearer {key}"}, {"x-api-key": key}])


def any_credentials(key: str) -> st.SearchStrategy[dict[str, str]]:
    return st.one_of(
        keyed(key),
        st.just({}),
        st.builds(lambda text: {"authorization": text}, HEADER_TEXT),
        st.builds(lambda text: {"authorization": "Bearer " + text}, HEADER_TEXT),
        st.builds(lambda text: {"x-api-key": text}, HEADER_TEXT),
        st.builds(lambda text: {"cookie": text}, HEADER_TEXT),
    )


async def _row_counts() -> tuple[int, ...]:
    return (
        await Order.objects.acount(),
        await OrderItem.objects.acount(),
        await Customer.objects.acount(),
        await ApiKey.objects.acount(),
    )


@pytest.fixture
def failing_upstreams(settings):
    closed = "http://127.0.0.1:9"
    settings.CHORUS = {
        "UPSTREAMS": {name: {"BASE_URL": f"{closed}/{name}", "TIMEOUT": 0.2} for name in UPSTREAM_NAMES},
        "DEFAULT_DEADLINE": 0.5,
    }  # fmt: skip
    settings.STOREFRONT_SIMULATOR_URL = closed


async def throw(data, credentials) -> None:
    await Customer.objects.aget_or_create(name="Ada", email="ada@example.com")
    path = data.draw(paths(), label="path")
    method = data.draw(st.sampled_from(METHODS), label="method")
    headers = data.draw(header_sets(credentials), label="headers")
    body = data.draw(bodies(), label="body")
    query = data.draw(st.text(alphabet="abc=&;%09?+ é", max_size=30), label="query")

    before = await _row_counts()
    response = await asgi_request(
        ChorusASGIHandler(),
        path,
        method=method,
        query=query,
        headers=headers,
        body=body,
        disconnect_after=0.3,
    )
    after = await _row_counts()

    assert response.status is not None, "no response started before the client left"
    assert response.status < 500 or response.status in (502, 504), response.body[:300]
    assert b"Traceback" not in response.body
    assert b'File "' not in response.body
    if response.status >= 400 and not response.headers.get("content-type", "").startswith(
        "text/event-stream"
    ):
        assert response.headers["content-type"] == "application/json", response.body[:300]
        if response.status not in (502, 504):  # the fan-out envelope, with its own shape
            assert set(response.json()) == {"error"}
    if response.status != 201:
        assert after == before


FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
async def test_no_input_from_a_key_holder_breaks_the_api(data, api_key, failing_upstreams):
    await throw(data, keyed(api_key["authorization"].removeprefix("Bearer ")))


@FUZZ
@given(data=st.data())
async def test_no_input_from_anyone_breaks_the_api(data, api_key, failing_upstreams):
    await throw(data, any_credentials(api_key["authorization"].removeprefix("Bearer ")))
