"""Every /api/ route is served by an async view: Django never adapts one through a thread.

With the middleware (below: no adaptation when the handler is
built), this covers the whole API path: a sync view would be wrapped in
``sync_to_async`` on every request, silently.
"""

import logging

import pytest
from asgiref.sync import iscoroutinefunction

from chorus.server import ChorusASGIHandler
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops
from tests.storefront.support.routes import api_routes


def test_there_are_api_routes_to_check():
    assert len(list(api_routes())) >= 10


def test_every_api_view_is_a_coroutine_function():
    # The sync baseline is sync on purpose: it is what async is measured against.
    sync = [
        route
        for route, view in api_routes()
        if not iscoroutinefunction(view) and route != "api/sync/dashboard/"
    ]
    assert sync == []


@pytest.mark.django_db(transaction=True)
async def test_fan_out_endpoint_makes_no_thread_hop(upstreams, settings, api_key):
    settings.ROOT_URLCONF = "storefront.urls"
    handler = ChorusASGIHandler()
    # Takes the orders snapshot (the ORM hops); the key was checked already (api_key is warm).
    await asgi_request(handler, "/api/dashboard/", headers=api_key)
    response, hops = await count_hops(asgi_request(handler, "/api/dashboard/", headers=api_key))
    assert response.status == 200
    assert not hops.any


def test_storefront_middleware_needs_no_adaptation(settings, caplog):
    settings.DEBUG = True
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        ChorusASGIHandler()
    assert not [r for r in caplog.records if "adapted" in r.getMessage()]
