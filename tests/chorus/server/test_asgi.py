"""ChorusASGIHandler: Django's semantics, without thread hops that cannot matter."""

import logging
import threading

import django
import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.test import override_settings

from chorus.server import ChorusASGIHandler
from tests.chorus.support import asgi_urls
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")


@pytest.fixture
def handler():
    return ChorusASGIHandler()


async def test_request_without_database_makes_no_thread_hop(handler):
    response, hops = await count_hops(asgi_request(handler, "/plain/"))
    assert response.status == 200
    assert response.body == b"plain"
    assert not hops.any


class ClosingCache(LocMemCache):
    """A cache backend with a ``close()`` of its own, as memcached's has."""

    closed = 0

    def close(self, **kwargs):
        ClosingCache.closed += 1


async def test_a_cache_backend_that_closes_is_closed_at_the_end_of_the_request(handler):
    backend = {"BACKEND": f"{__name__}.ClosingCache", "LOCATION": "closing"}
    with override_settings(CACHES={"default": backend}):
        ClosingCache.closed = 0
        caches["default"].get("touched")  # made in this context, as a view's use makes it
        response, hops = await count_hops(asgi_request(handler, "/plain/"))
        assert response.status == 200
        assert ClosingCache.closed == 1
        assert hops.thread_sensitive  # close() may block: Django's close_caches, in a thread
    # Back on backends without a close() of their own: no thread hop for them.
    response, hops = await count_hops(asgi_request(handler, "/plain/"))
    assert not hops.any


async def test_a_cache_backend_that_cannot_be_imported_fails_no_request(handler):
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "unused": {"BACKEND": "no.such.module.Cache"},
    }
    with override_settings(CACHES=caches_setting):
        response, _ = await count_hops(asgi_request(handler, "/plain/"))
        assert response.status == 200
        assert response.body == b"plain"


async def test_djangos_own_handler_does_hop_so_the_instrument_can_tell():
    _, hops = await count_hops(asgi_request(ASGIHandler(), "/plain/"))
    assert hops.any


@pytest.mark.django_db(transaction=True)
async def test_orm_request_cleans_its_connections_in_the_thread_that_owns_them(handler):
    asgi_urls.seen.clear()
    finished_in = []

    def spy(**kwargs):
        finished_in.append(threading.get_ident())

    request_finished.connect(spy)
    try:
        response, hops = await count_hops(asgi_request(handler, "/orm/"))
    finally:
        request_finished.disconnect(spy)
    assert response.status == 200
    assert hops.thread_sensitive  # the ORM ran in the request's own thread
    # A user's sync receiver still runs, in that same thread, as under Django.
    assert finished_in == [asgi_urls.seen["orm_thread"]]


@pytest.mark.django_db(transaction=True)
async def test_orm_request_returns_its_postgresql_connection(handler, postgres_url):
    asgi_urls.seen.clear()
    response = await asgi_request(handler, "/orm/")
    assert response.status == 200
    wrapper = asgi_urls.seen["orm_connection"]
    assert wrapper.vendor == "postgresql"
    assert wrapper.connection is None  # close_old_connections ran on it: back in the pool


@pytest.mark.django_db(transaction=True)
async def test_orm_request_threads_are_joined(handler):
    before = threading.active_count()
    for _ in range(20):
        assert (await asgi_request(handler, "/orm/")).status == 200
    assert threading.active_count() <= before + 1


async def test_user_receivers_still_run_async_inline_and_sync_in_a_thread(handler):
    calls = []
    loop_thread = threading.get_ident()

    async def async_receiver(**kwargs):
        calls.append(("async", kwargs["signal"], threading.get_ident() == loop_thread))

    def sync_receiver(**kwargs):
        calls.append(("sync", kwargs["signal"], threading.get_ident() == loop_thread))

    for signal in (request_started, request_finished):
        signal.connect(async_receiver)
        signal.connect(sync_receiver)
    try:
        assert (await asgi_request(handler, "/plain/")).status == 200
    finally:
        for signal in (request_started, request_finished):
            signal.disconnect(async_receiver)
            signal.disconnect(sync_receiver)
    assert sorted(calls, key=str) == sorted(
        [
            ("async", request_started, True),
            ("sync", request_started, False),
            ("async", request_finished, True),
            ("sync", request_finished, False),
        ],
        key=str,
    )


async def test_streaming_response_is_consumed_and_closed(handler):
    asgi_urls.seen.clear()
    response, hops = await count_hops(asgi_request(handler, "/stream/"))
    assert response.body == b"one,two"
    assert asgi_urls.seen["stream_closed"] is True
    assert not hops.any


# Django itself warns that a file is a sync iterator under ASGI; that is not under test here.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
async def test_file_response_closers_run(handler):
    asgi_urls.seen.clear()
    response = await asgi_request(handler, "/file/")
    assert response.body == b"file body"
    assert asgi_urls.seen["file"].closed


async def test_multipart_upload_is_read_and_its_files_closed(handler):
    asgi_urls.seen.clear()
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()
    response = await asgi_request(
        handler,
        "/upload/",
        method="POST",
        body=body,
        headers={
            "content-type": f"multipart/form-data; boundary={boundary}",
            "content-length": str(len(body)),
        },
    )
    assert response.status == 200, response.body
    assert response.body == b"5"
    assert asgi_urls.seen["upload"].file.closed


async def test_a_4xx_is_logged_without_a_thread_hop(handler, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    response, hops = await count_hops(asgi_request(handler, "/missing/"))
    assert response.status == 404
    assert not hops.any
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Not Found: /missing/"
    assert record.thread == threading.get_ident()


async def test_a_5xx_is_logged_in_a_thread_where_mail_admins_may_block(handler, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    response, hops = await count_hops(asgi_request(handler, "/boom/"))
    assert response.status == 500
    assert hops.default_executor >= 1
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records
    assert all(r.thread != threading.get_ident() for r in records)


@pytest.mark.parametrize("handler_class", [ASGIHandler, ChorusASGIHandler])
async def test_a_receiver_sets_context_for_the_view_as_the_installed_djangos_asend_does(
    handler_class,
):
    # Django 6.1's Signal.asend runs async receivers in the caller's context; 5.2's and
    # 6.0's gather them, each in a copy. Chorus's handler does as the installed Django's.
    async def mark(**kwargs):
        asgi_urls.marker.set("set by request_started")

    request_started.connect(mark)
    try:
        response = await asgi_request(handler_class(), "/context/")
    finally:
        request_started.disconnect(mark)
    expected = b"set by request_started" if django.VERSION >= (6, 1) else b"unset"
    assert response.body == expected


async def test_a_failing_receiver_fails_the_request_and_closes_the_body_file(handler):
    # Chorus closes the spooled body whatever fails, on every Django, as 6.1's handler does;
    # Django 5.2's and 6.0's own handlers leave it to the garbage collector, and with
    # filterwarnings = error its ResourceWarning fails this test for them.
    async def fail(**kwargs):
        raise RuntimeError("receiver failed")

    request_started.connect(fail)
    try:
        with pytest.raises(RuntimeError, match="receiver failed"):
            await asgi_request(handler, "/echo/", method="POST", chunks=[b"one,", b"two"])
    finally:
        request_started.disconnect(fail)
