"""SuspiciousOperation: a 400 on the loop and one WARNING line per interval, no traceback."""

import logging
import threading

import pytest
from django.core.handlers.asgi import ASGIHandler

from chorus.server import ChorusASGIHandler
from chorus.server import _suspicious as suspicious
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")

EVIL = {"host": "evil.example"}


@pytest.fixture
def handler(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    # Raised in a middleware, as in a real stack (CommonMiddleware reads the host first):
    # a view's exception would also pass Django's process_exception hop, a separate matter.
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.chorus.support.host_check.HostCheckMiddleware",
    ]
    suspicious._throttle = suspicious._Throttle()
    return ChorusASGIHandler()


def _security_records(caplog):
    return [r for r in caplog.records if r.name == "django.security.DisallowedHost"]


async def test_a_bad_host_is_a_400_without_a_thread_hop(handler, caplog):
    caplog.set_level(logging.INFO, logger="django.security")
    response, hops = await count_hops(asgi_request(handler, "/host/", headers=EVIL))
    assert response.status == 400
    assert not hops.any
    [record] = _security_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.thread == threading.get_ident()  # logged on the loop, not in a worker
    assert "evil.example" in record.getMessage()


async def test_djangos_handler_hops_and_logs_a_traceback_so_the_test_can_tell(handler, caplog):
    caplog.set_level(logging.INFO, logger="django.security")
    response, hops = await count_hops(asgi_request(ASGIHandler(), "/host/", headers=EVIL))
    assert response.status == 400
    assert hops.any
    [record] = _security_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def test_a_flood_costs_one_line_per_interval(handler, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="django.security")
    for _ in range(50):
        assert (await asgi_request(handler, "/host/", headers=EVIL)).status == 400
    assert len(_security_records(caplog)) == 1
    monkeypatch.setattr(suspicious, "LOG_INTERVAL", 0.0)
    assert (await asgi_request(handler, "/host/", headers=EVIL)).status == 400
    records = _security_records(caplog)
    assert len(records) == 2
    assert "49 more like it" in records[1].getMessage()


async def test_a_good_host_is_served(handler):
    response = await asgi_request(handler, "/host/", headers={"host": "127.0.0.1"})
    assert response.status == 200
    assert response.body == b"127.0.0.1"


async def test_other_exceptions_still_get_djangos_500(handler, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    response = await asgi_request(handler, "/boom/")
    assert response.status == 500
    assert any(r.name == "django.request" and r.exc_info for r in caplog.records)
