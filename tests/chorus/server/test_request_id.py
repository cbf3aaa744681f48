"""X-Request-ID: accepted or made, on the response, in log lines, and sent upstream."""

import logging

import pytest
from django.test import RequestFactory

import chorus
from chorus.server import ChorusASGIHandler
from chorus.server._request_id import new_request_id
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.urls("tests.chorus.support.plain_urls")


async def test_a_request_id_is_made_when_none_is_sent(chorus_app):
    response = await asgi_request(chorus_app, "/ping/")
    assert len(response.headers["x-request-id"]) == 32


async def test_a_sane_incoming_id_is_kept(chorus_app):
    response = await asgi_request(chorus_app, "/ping/", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize("bad", ["has space", "x" * 200, "semi;colon", "é"])
async def test_an_insane_incoming_id_is_replaced(bad, chorus_app):
    response = await asgi_request(
        chorus_app, "/ping/", headers={"X-Request-ID": bad.encode().decode("latin-1")}
    )
    assert response.headers["x-request-id"] != bad
    assert len(response.headers["x-request-id"]) == 32


async def test_one_access_line_per_request_with_the_id(caplog, chorus_app):
    with caplog.at_level(logging.INFO, logger="chorus.request"):
        await asgi_request(chorus_app, "/ping/", headers={"X-Request-ID": "req-7"})
    lines = [r.getMessage() for r in caplog.records if r.name == "chorus.request"]
    assert len(lines) == 1
    assert lines[0].startswith("method=GET path=/ping/ status=200 duration_ms=")
    assert lines[0].endswith("request_id=req-7")


async def test_the_id_is_on_log_records_made_during_the_request(caplog, chorus_app):
    caplog.handler.addFilter(chorus.server.RequestIDFilter())
    with caplog.at_level(logging.INFO, logger="chorus.request"):
        await asgi_request(chorus_app, "/ping/", headers={"X-Request-ID": "req-8"})
    record = next(r for r in caplog.records if r.name == "chorus.request")
    assert record.request_id == "req-8"
    assert chorus.current_request_id() is None  # and gone once the request is over


async def test_the_id_is_sent_to_upstreams(settings, recorder):
    settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": recorder.url + "/svc"}}}

    view = chorus.Composite.as_view(sources={"svc": chorus.call("svc", "/a")})
    middleware = chorus.server.RequestIDMiddleware(view)
    request = RequestFactory().get("/", headers={"X-Request-ID": "chain-1"})
    response = await middleware(request)
    assert response.status_code == 200
    assert recorder.requests[0].headers["X-Request-ID"] == "chain-1"


def test_made_ids_are_distinct_hex():
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


async def test_control_characters_in_the_path_are_escaped_in_the_access_log(caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    await asgi_request(ChorusASGIHandler(), "/x%0Aforged%00line/")
    [record] = [r for r in caplog.records if r.name == "chorus.request"]
    message = record.getMessage()
    assert "\n" not in message
    assert "\x00" not in message
    assert "path=/x\\nforged\\x00line/" in message


@pytest.mark.urls("tests.chorus.support.asgi_urls")
async def test_the_access_line_carries_the_route_and_status_as_fields(caplog):
    caplog.set_level(logging.INFO, logger="chorus.request")
    await asgi_request(ChorusASGIHandler(), "/plain/")
    [record] = [r for r in caplog.records if r.name == "chorus.request"]
    assert (record.http_method, record.http_route, record.http_status) == ("GET", "/plain/", 200)
    assert record.http_path == "/plain/"
    assert record.duration_ms >= 0
