"""Every /api/ route is served by an async view: Django never adapts one through a thread.

With the middleware (tests/chorus/test_asgi.py: no adaptation when the handler is
built), this covers the whole API path: a sync view would be wrapped in
``sync_to_async`` on every request, silently.
"""

from asgiref.sync import iscoroutinefunction
from django.urls import URLPattern, URLResolver, get_resolver


def api_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/"):
            if route == "api/sync/dashboard/":
                continue  # the sync baseline, sync on purpose: it is what async is measured against
            yield route, entry.callback


def test_there_are_api_routes_to_check():
    assert len(list(api_routes())) >= 10


def test_every_api_view_is_a_coroutine_function():
    sync = [route for route, view in api_routes() if not iscoroutinefunction(view)]
    assert sync == []
