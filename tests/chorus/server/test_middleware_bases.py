"""The middleware bases: ``DualModeMiddleware`` in both modes, and ``NonBlockingMiddlewareMixin``
running a ``MiddlewareMixin``'s hooks on the event loop instead of in a thread."""

from __future__ import annotations

import logging
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse
from django.test import Client, RequestFactory

from chorus.server import ChorusASGIHandler, NonBlockingMiddlewareMixin
from tests.chorus.support import bases_middleware
from tests.chorus.support.bases_middleware import SEEN, Dual, Hooks, NonBlockingHooks
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops

SUPPORT = "tests.chorus.support.bases_middleware"

pytestmark = pytest.mark.urls("tests.chorus.support.plain_urls")


@pytest.fixture(autouse=True)
def _nothing_seen_yet():
    SEEN.clear()


def sync_view(request):
    return HttpResponse(b"view")


async def async_view(request):
    return HttpResponse(b"view")


def steps() -> list[str]:
    return [step for step, _ in SEEN]


def threads() -> set[int]:
    return {thread for _, thread in SEEN}


# -- DualModeMiddleware --------------------------------------------------------------------


def test_with_a_sync_get_response_it_calls_call():
    middleware = Dual(sync_view)
    response = middleware(RequestFactory().get("/"))
    assert response.content == b"view"
    assert steps() == ["call"]


def test_with_a_sync_get_response_it_is_not_a_coroutine_function():
    assert not iscoroutinefunction(Dual(sync_view))


def test_with_an_async_get_response_it_is_marked_a_coroutine_function():
    assert iscoroutinefunction(Dual(async_view))


async def test_with_an_async_get_response_it_awaits_acall():
    response = await Dual(async_view)(RequestFactory().get("/"))
    assert response.content == b"view"
    assert steps() == ["acall"]


async def test_under_asgi_acall_runs_on_the_event_loop_without_a_thread_hop(settings):
    settings.MIDDLEWARE = [f"{SUPPORT}.Dual"]
    response, hops = await count_hops(asgi_request(ChorusASGIHandler(), "/ping/"))
    assert response.body == b"pong"
    assert steps() == ["acall"]
    assert threads() == {threading.get_ident()}
    assert not hops.any


def test_under_wsgi_call_is_used(settings):
    settings.MIDDLEWARE = [f"{SUPPORT}.Dual"]
    response = Client().get("/ping/")
    assert response.content == b"pong"
    assert steps() == ["call"]


# -- NonBlockingMiddlewareMixin ------------------------------------------------------------


async def test_the_hooks_run_on_the_event_loops_thread():
    response = await NonBlockingHooks(async_view)(RequestFactory().get("/"))
    assert response["X-Hooks"] == "ran"
    assert steps() == ["process_request", "process_response"]
    assert threads() == {threading.get_ident()}


async def test_without_the_mixin_django_runs_the_hooks_in_a_thread():
    # The contrast the mixin exists for: Django's own MiddlewareMixin hops for each hook.
    await Hooks(async_view)(RequestFactory().get("/"))
    assert steps() == ["process_request", "process_response"]
    assert threading.get_ident() not in threads()


async def test_under_asgi_every_hook_runs_without_a_thread_hop(settings):
    settings.MIDDLEWARE = [f"{SUPPORT}.NonBlockingHooks"]
    response, hops = await count_hops(asgi_request(ChorusASGIHandler(), "/ping/"))
    assert (response.status, response.headers["x-hooks"]) == (200, "ran")
    assert steps() == ["process_request", "process_view", "process_response"]
    assert threads() == {threading.get_ident()}
    assert not hops.any


async def test_an_aprocess_request_override_is_used():
    class EarlyAnswer(NonBlockingHooks):
        async def aprocess_request(self, request):
            bases_middleware.seen("aprocess_request")
            return HttpResponse(b"early")

    response = await EarlyAnswer(async_view)(RequestFactory().get("/"))
    assert response.content == b"early"  # the view was never asked
    assert steps() == ["aprocess_request", "process_response"]


async def test_an_aprocess_response_override_is_used():
    class OwnResponse(NonBlockingHooks):
        async def aprocess_response(self, request, response):
            bases_middleware.seen("aprocess_response")
            return response

    response = await OwnResponse(async_view)(RequestFactory().get("/"))
    assert "X-Hooks" not in response  # the sync hook did not run
    assert steps() == ["process_request", "aprocess_response"]


async def test_an_aprocess_view_override_is_used():
    class OwnView(NonBlockingHooks):
        async def aprocess_view(self, request, view, args, kwargs):
            bases_middleware.seen("aprocess_view")

    middleware = OwnView(async_view)
    assert iscoroutinefunction(middleware.process_view)  # what the handler will find
    await middleware.process_view(RequestFactory().get("/"), async_view, (), {})
    assert steps() == ["aprocess_view"]


async def test_chorus_calls_a_non_blocking_layer_with_no_wrapper_around_it(settings):
    settings.MIDDLEWARE = [f"{SUPPORT}.NonBlockingHooks"]
    chain = ChorusASGIHandler()._middleware_chain
    assert chain.__func__ is NonBlockingMiddlewareMixin.__acall__
    assert isinstance(chain.__self__, NonBlockingHooks)


@pytest.mark.parametrize(("raised", "status"), [("suspicious", 400), ("boom", 500)])
async def test_an_exception_in_a_hook_is_answered_at_its_layer_as_djangos_wrapper_would(
    settings, caplog, raised, status
):
    settings.MIDDLEWARE = [f"{SUPPORT}.NonBlockingHooks", f"{SUPPORT}.RaisesWhenAsked"]
    caplog.set_level(logging.CRITICAL)  # the 500's traceback: expected here
    for handler in (ChorusASGIHandler(), ASGIHandler()):
        SEEN.clear()
        response = await asgi_request(handler, "/ping/", headers={"x-raise": raised})
        assert response.status == status
        # The layer outside the one that raised still saw a response, under either handler.
        assert response.headers["x-hooks"] == "ran"
        assert steps() == ["process_request", "process_response"]


async def test_under_djangos_handler_djangos_wrapper_still_answers_the_exception(settings):
    settings.MIDDLEWARE = [f"{SUPPORT}.RaisesWhenAsked"]
    suspicious = {"x-raise": "suspicious"}
    response, hops = await count_hops(asgi_request(ASGIHandler(), "/ping/", headers=suspicious))
    assert response.status == 400
    assert hops.any  # Django's wrapper hops to a thread for it; chorus's answers inline
    response, hops = await count_hops(
        asgi_request(ChorusASGIHandler(), "/ping/", headers=suspicious)
    )
    assert response.status == 400
    assert not hops.any


def test_under_wsgi_the_sync_hooks_run_as_usual():
    middleware = NonBlockingHooks(sync_view)
    assert not iscoroutinefunction(middleware)
    response = middleware(RequestFactory().get("/"))
    assert response["X-Hooks"] == "ran"
    assert steps() == ["process_request", "process_response"]
    assert threads() == {threading.get_ident()}
