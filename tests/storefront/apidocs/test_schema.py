"""The OpenAPI document: valid 3.1, every /api/ operation in it, built from the code."""

import asyncio
import inspect

import orjson
import pytest
from django.test import AsyncClient, RequestFactory
from openapi_spec_validator import validate

from storefront.apidocs.schema import openapi_document
from tests.storefront.support.routes import api_routes

pytestmark = pytest.mark.django_db(transaction=True)

_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def test_it_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


@pytest.mark.parametrize(("route", "view"), list(api_routes()), ids=lambda v: str(v)[:40])
def test_every_api_route_and_method_is_described(document, route, view):
    path = "/" + route.replace("<int:pk>", "{pk}").replace("<str:service>", "{service}")
    assert path in document["paths"], f"{path} has no operation: declare one beside its view"
    described = set(document["paths"][path])
    assert described == (set(_METHODS) & _allowed_methods_of(view))


def _allowed_methods_of(view) -> set[str]:
    """What the view answers: its class's handlers, or the Allow header of its 405."""
    if hasattr(view, "view_class"):
        cls = view.view_class
        return {m for m in cls.http_method_names if m in _METHODS and hasattr(cls, m)}
    response = view(RequestFactory().generic("TRACE", "/"), **_sample_kwargs(view))
    if inspect.isawaitable(response):
        response = asyncio.run(response)
    return {m.strip().lower() for m in response["Allow"].split(",")}


def _sample_kwargs(view) -> dict[str, object]:
    names = inspect.signature(view).parameters
    return {name: 1 if name == "pk" else "inventory" for name in names if name != "request"}


def test_the_sse_routes_are_event_streams(document):
    for path in ("/api/live/", "/api/events/", "/api/dashboard/stream/"):
        assert set(document["paths"][path]["get"]["responses"]["200"]["content"]) == {
            "text/event-stream"
        }


def test_auth_schemes_and_error_bodies_are_described(document):
    assert set(document["components"]["securitySchemes"]) == {"ApiKey", "Bearer", "Session"}
    error = document["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    create = document["paths"]["/api/orders/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderIn"
    }
    for status in ("400", "401", "403", "413", "415", "429"):
        assert create["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
    assert document["paths"]["/api/dashboard/"]["get"]["responses"]["504"]["content"][
        "application/json"
    ]["schema"] == {"$ref": "#/components/schemas/Envelope"}


async def test_the_schema_is_served_to_api_clients(api_key):
    client = AsyncClient()
    response = await client.get("/api/schema/", headers=api_key)
    assert response.status_code == 200
    assert orjson.loads(response.content)["paths"].keys() == openapi_document()["paths"].keys()
    assert (await AsyncClient().get("/api/schema/")).status_code == 401


async def test_the_docs_page_is_behind_the_staff_login(staff_cookie):
    anonymous = await AsyncClient().get("/api/docs/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
    page = await AsyncClient().get("/api/docs/", headers={"cookie": staff_cookie})
    assert page.status_code == 200
    assert b"swagger-ui-dist/swagger-ui-bundle" in page.content
    assert b"cdn" not in page.content.lower()
