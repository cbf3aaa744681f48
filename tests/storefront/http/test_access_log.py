"""The production log: one JSON object per request, with its route, status and each upstream's outcome."""

from __future__ import annotations

import json
import logging
import logging.config

import pytest
from django.conf import settings

import chorus.testing
from storefront.asgi import application
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_lines():
    """The settings' JSON formatter and filters on a handler that keeps what it writes."""
    config = settings.LOGGING
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        dict(config["formatters"]["json"])
    )
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(formatter)
    handler.addFilter(chorus.server.RequestIDFilter())
    logger = logging.getLogger("chorus.request")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_a_dashboard_request_is_one_json_line_with_each_upstreams_outcome(
    upstreams, api_key, json_lines
):
    chorus.testing.reset_policies()
    response = await asgi_request(application, "/api/dashboard/", headers=api_key)
    assert response.status == 200
    [line] = json_lines
    entry = json.loads(line)
    assert entry["logger"] == "chorus.request"
    assert entry["level"] == "INFO"
    assert entry["request_id"] == response.headers["x-request-id"]
    assert entry["http_route"] == "/api/dashboard/"
    assert entry["http_status"] == 200
    assert entry["upstreams"] == {
        "inventory": "ok",
        "notifications": "ok",
        "analytics": "ok",
        "orders": "ok",
    }


async def test_an_order_route_is_labelled_by_its_pattern(api_key, json_lines):
    await asgi_request(application, "/api/orders/424242/", headers=api_key)
    entry = json.loads(json_lines[-1])
    assert (entry["http_route"], entry["http_status"]) == ("/api/orders/<int:pk>/", 404)
    assert "upstreams" not in entry
