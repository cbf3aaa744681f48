"""Bad input on ``/api/`` is a JSON error in the envelope, never an HTML page or a 500."""

from __future__ import annotations

import io
import logging

import pytest
from django.http import HttpRequest
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_filter

from chorus.server import ChorusASGIHandler
from storefront.asgi import application
from storefront.http.redaction import REDACTED, RedactSecretsFilter, redact
from storefront.orders.models import Order
from tests.fixtures.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)


def assert_envelope(response, status: int, code: str) -> None:
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message"}


async def post(path, headers, body, **extra):
    return await asgi_request(
        application, path, method="POST", headers={**headers, **extra}, body=body
    )


async def test_a_wrong_method_is_a_json_405_that_still_says_what_is_allowed(api_key):
    response = await post("/api/events/", api_key, b"{}", **{"content-type": "application/json"})
    assert_envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


async def test_an_unknown_api_route_is_a_json_404(api_key):
    response = await asgi_request(application, "/api/nothing/here/", headers=api_key)
    assert_envelope(response, 404, "not_found")


async def test_a_body_declared_too_large_is_a_413_before_it_is_read(api_key, settings):
    settings.STOREFRONT_API_MAX_BODY_BYTES = 100
    response = await post(
        "/api/orders/",
        api_key,
        b"{}",
        **{"content-type": "application/json", "content-length": "101"},
    )
    assert_envelope(response, 413, "payload_too_large")


async def test_a_body_too_large_without_a_length_is_a_413(api_key, settings):
    settings.STOREFRONT_API_MAX_BODY_BYTES = 100
    body = b'{"padding": "' + b"x" * 200 + b'"}'
    response = await post("/api/orders/", api_key, body, **{"content-type": "application/json"})
    assert_envelope(response, 413, "payload_too_large")
    assert await Order.objects.acount() == 0


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""],
)
async def test_a_body_that_is_not_utf8_json_is_a_415(api_key, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = await post("/api/orders/", api_key, b'{"customer": 1}', **headers)
    assert_envelope(response, 415, "unsupported_media_type")


async def test_unparsable_json_is_a_400_for_every_route_that_takes_a_body(api_key, settings):
    settings.STOREFRONT_SIMULATOR_URL = "http://127.0.0.1:9"  # never reached
    for path in ("/api/orders/", "/api/simulator/faults/inventory"):
        response = await asgi_request(
            application,
            path,
            method="PUT" if "faults" in path else "POST",
            headers={**api_key, "content-type": "application/json"},
            body=b'{"customer": ',
        )
        assert_envelope(response, 400, "malformed_json")


async def test_a_disallowed_host_is_a_json_400_on_the_api(api_key):
    response = await asgi_request(
        application, "/api/orders/stats/", headers={**api_key, "host": "evil.example"}
    )
    assert_envelope(response, 400, "bad_request")


async def test_a_csrf_failure_outside_the_api_stays_djangos_page():
    response = await asgi_request(
        application,
        "/login/",
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=b"username=a&password=b",
    )
    assert response.status == 403
    assert response.headers["content-type"].startswith("text/html")


@pytest.fixture
def console():
    """What storefront's console log handler writes, during the test."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


async def test_a_crash_is_a_bare_json_500_and_its_log_holds_no_secret(settings, api_key, console):
    settings.ROOT_URLCONF = "tests.storefront.support.error_urls"
    key = api_key["authorization"].removeprefix("Bearer ")
    response = await asgi_request(
        ChorusASGIHandler(),
        "/api/explode/",
        query="token=query-secret-123&page=2",
        headers={**api_key, "cookie": "sessionid=cookie-secret-456"},
    )
    assert_envelope(response, 500, "server_error")
    assert b"boom" not in response.body
    assert b"Traceback" not in response.body
    logged = console.getvalue()
    assert "RuntimeError: boom with Bearer [redacted]" in logged  # the log line is there
    for secret in (key, "query-secret-123", "cookie-secret-456"):
        assert secret not in logged


async def test_a_crash_outside_the_api_is_djangos_html_500(settings, console):
    settings.ROOT_URLCONF = "tests.storefront.support.error_urls"
    response = await asgi_request(ChorusASGIHandler(), "/explode/")
    assert response.status == 500
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("x-api-key: sf_live_key_1234567890", "sf_live_key_1234567890"),
        ("Cookie: sessionid=s3ss10n; csrftoken=t0k3n", "s3ss10n"),
        ("Set-Cookie: sessionid=s3ss10n; HttpOnly", "s3ss10n"),
        ("GET /api/x?access_token=q7q7q7&page=1", "q7q7q7"),
        ("GET /api/x?page=1&api_key=q8q8q8", "q8q8q8"),
        ("{'HTTP_AUTHORIZATION': 'Bearer zz9'}", "zz9"),
        ("used sf_abcdefghijklmnop in a message", "sf_abcdefghijklmnop"),
        # Any case: the quick look for each pattern's words lowers the line first.
        ("AUTHORIZATION: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("POST /login form: user=ann&PASSWORD=hunter2", "hunter2"),
        ("X_API_KEY=k3yk3yk3y", "k3yk3yk3y"),
        ("BEARER tok.en.value", "tok.en.value"),
        # The Kelvin sign and the long s match k and s when case is ignored: no quick look.
        ("Coo\u212aie: sessionid=s3ss10n", "s3ss10n"),
        ("login pa\u017fsword=hunter2", "hunter2"),
    ],
)
def test_redaction_removes_each_kind_of_secret(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_the_log_filter_redacts_the_stack_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain", None, None)
    record.stack_info = "Stack (most recent call last):\n  key = 'sf_abcdefghijklmnop'"
    assert RedactSecretsFilter().filter(record)
    assert "sf_abcdefghijklmnop" not in record.stack_info


def test_redaction_leaves_ordinary_lines_alone():
    line = "method=GET path=/api/orders/stats/ status=200 duration_ms=3.1 request_id=abc"
    assert redact(line) == line


def test_error_reports_hide_credentials_in_request_headers():
    request: HttpRequest = RequestFactory().get(
        "/api/x",
        headers={
            "Authorization": "Bearer abc",
            "X-API-Key": "sf_k",
            "Cookie": "sessionid=s",
        },
    )
    meta = get_exception_reporter_filter(request).get_safe_request_meta(request)
    for name in ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_COOKIE"):
        assert meta[name] != request.META[name]
