"""Composite: declared sources (calls, factories, wrapped factories) become an async view."""

import orjson
import pytest
from django.test import RequestFactory

import chorus
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.composite_urls")


async def test_factories_get_the_request_and_url_kwargs(upstreams, chorus_app):
    response = await asgi_request(chorus_app, "/items/SKU-1001/")
    body = response.json()
    assert response.status == 200
    assert body["data"]["item"]["sku"] == "SKU-1001"
    assert body["data"]["shout"] == "SKU-1001".upper()
    assert body["data"]["users"]["active_users"] > 0
    assert body["sources"]["shout"]["required"] is False


async def test_a_404_from_the_upstream_is_a_bad_status(upstreams, chorus_app):
    response = await asgi_request(chorus_app, "/items/NOPE/")
    assert response.status == 502
    assert response.json()["sources"]["item"] == {
        **response.json()["sources"]["item"],
        "status": "bad_status",
        "http_status": 404,
    }


@pytest.mark.parametrize("sku", ["..", "%2E%2E", "."])
async def test_a_url_value_that_would_leave_the_base_path_is_a_400(upstreams, sku, chorus_app):
    response = await asgi_request(chorus_app, f"/items/{sku}/")
    assert response.status == 400
    assert response.json()["error"]["code"] == "unsafe_request"
    stats = (await upstreams.astats())["services"]
    assert all(service["requests"] == 0 for service in stats.values())


async def test_the_stream_reports_an_unsafe_value_as_an_error_event(upstreams, chorus_app):
    response = await asgi_request(chorus_app, "/items/../stream/")
    assert response.status == 200
    assert b"event: error" in response.body
    assert b"unsafe_request" in response.body


async def test_render_can_be_overridden(upstreams, chorus_app):
    response = await asgi_request(chorus_app, "/reshaped/")
    assert response.headers["x-sources"] == "users"


async def test_as_view_takes_sources_inline(upstreams, chorus_app):
    response = await asgi_request(chorus_app, "/quick/")
    assert response.json()["data"]["u"]["active_users"] > 0


async def test_head_answers_without_a_body(upstreams, chorus_app):
    response = await asgi_request(chorus_app, "/quick/", method="HEAD")
    assert response.status == 200


async def test_an_awaitable_declared_directly_is_refused():
    async def once():
        return 1

    coroutine = once()
    try:
        with pytest.raises(TypeError, match="can run only once"):
            chorus.Composite.as_view(sources={"x": coroutine})
    finally:
        coroutine.close()


async def test_a_coroutine_wrapped_in_source_is_refused_when_the_class_is_declared():
    async def count():
        return 1

    with pytest.raises(TypeError, match=r"Counts.sources\['n'\] is an awaitable"):

        class Counts(chorus.Composite):
            sources = {"n": chorus.source(count(), required=False)}  # noqa: RUF012


async def test_a_coroutine_wrapped_in_source_is_refused_by_as_view():
    async def count():
        return 1

    with pytest.raises(TypeError, match="can run only once"):
        chorus.Composite.as_view(sources={"n": chorus.source(count())})


def test_a_source_that_is_neither_call_source_nor_factory_is_refused():
    with pytest.raises(TypeError, match=r"must be a chorus\.call"):
        chorus.Composite.as_view(sources={"n": 42})


async def test_a_factory_source_serves_every_request(upstreams):
    async def count(request):
        return 7

    view = chorus.Composite.as_view(sources={"n": chorus.source(count)})
    for _ in range(3):
        response = await view(RequestFactory().get("/"))
        assert response.status_code == 200
        assert orjson.loads(response.content)["data"]["n"] == 7


def test_a_composite_without_sources_is_refused():
    with pytest.raises(TypeError, match="declares no sources"):
        chorus.Composite.as_view()


async def test_a_stream_sends_the_request_id_to_its_upstreams(settings, recorder, chorus_app):
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": recorder.url + "/svc"}}}
    response = await asgi_request(
        chorus_app, "/probe/stream/", headers={"X-Request-ID": "stream-1"}
    )
    assert b"event: summary" in response.body
    assert recorder.requests[0].headers["X-Request-ID"] == "stream-1"


async def test_head_answers_as_get_does(upstreams, chorus_app):
    got = await asgi_request(chorus_app, "/items/SKU-1001/")
    head = await asgi_request(chorus_app, "/items/SKU-1001/", method="HEAD")
    assert head.status == got.status == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert set(head.headers) == set(got.headers)
