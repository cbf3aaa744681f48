"""Every /api/ route is served by an async view: Django never adapts one through a thread.

With the middleware (tests/chorus/test_asgi.py: no adaptation when the handler is
built), this covers the whole API path: a sync view would be wrapped in
``sync_to_async`` on every request, silently.
"""

from contextlib import suppress

import pytest
from asgiref.sync import iscoroutinefunction
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from tests.storefront.access.test_api_access import API_ROUTES
from tests.storefront.test_api_fuzz import ROUTES as FUZZED_ROUTES


def api_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/"):
            yield route, entry.callback


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


def reached(paths):
    routes = set()
    for path in paths:
        with suppress(Resolver404):  # the lists probe unknown paths on purpose
            routes.add(resolve(path).route)
    return routes


@pytest.mark.parametrize("paths", [API_ROUTES, FUZZED_ROUTES], ids=["access-tests", "fuzz-test"])
def test_route_lists_of_other_tests_reach_every_api_route(paths):
    missing = {route for route, _ in api_routes()} - reached(paths)
    assert missing == set()
