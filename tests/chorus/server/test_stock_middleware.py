"""chorus.server's versions of Django's stock middleware: Django's behaviour, no thread hop."""

import pytest
from django.contrib.auth import middleware as auth
from django.middleware import clickjacking, common, security

import chorus.server
from chorus.server import NonBlockingMiddlewareMixin
from chorus.server._asgi import ChorusASGIHandler
from tests.fixtures.asgi import asgi_request
from tests.fixtures.hops import count_hops

pytestmark = pytest.mark.urls("tests.chorus.support.asgi_urls")

DJANGOS = [
    "django.middleware.security.SecurityMiddleware",
    "tests.chorus.support.lazy_session.LazySession",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
CHORUS = [
    "chorus.server.SecurityMiddleware",
    "tests.chorus.support.lazy_session.LazySession",
    "chorus.server.CommonMiddleware",
    "chorus.server.AuthenticationMiddleware",
    "chorus.server.XFrameOptionsMiddleware",
]


@pytest.mark.parametrize(
    ("name", "django_class"),
    [
        ("SecurityMiddleware", security.SecurityMiddleware),
        ("CommonMiddleware", common.CommonMiddleware),
        ("AuthenticationMiddleware", auth.AuthenticationMiddleware),
        ("XFrameOptionsMiddleware", clickjacking.XFrameOptionsMiddleware),
    ],
)
def test_each_is_djangos_class_with_the_mixin_first(name, django_class):
    cls = getattr(chorus.server, name)
    assert cls.__mro__[1:3] == (NonBlockingMiddlewareMixin, django_class)
    assert "Safe:" in (cls.__doc__ or "")  # each says why it never blocks


async def test_the_stack_makes_no_thread_hop(settings):
    settings.MIDDLEWARE = CHORUS
    response, hops = await count_hops(asgi_request(ChorusASGIHandler(), "/plain/"))
    assert response.status == 200
    assert not hops.any


async def test_djangos_classes_hop_where_chorus_does_not(settings):
    settings.MIDDLEWARE = DJANGOS
    response, hops = await count_hops(asgi_request(ChorusASGIHandler(), "/plain/"))
    assert response.status == 200
    assert hops.any


@pytest.mark.parametrize("path", ["/plain/", "/plain", "/missing/"])
async def test_the_answers_are_djangos(settings, path):
    settings.APPEND_SLASH = True
    settings.SECURE_CONTENT_TYPE_NOSNIFF = True
    settings.X_FRAME_OPTIONS = "DENY"
    answers = []
    for stack in (DJANGOS, CHORUS):
        settings.MIDDLEWARE = stack
        response = await asgi_request(ChorusASGIHandler(), path)
        answers.append((response.status, response.headers, response.body))
    assert answers[0] == answers[1]
    status, headers, _ = answers[0]
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware's
    if path == "/plain":
        assert (status, headers["location"]) == (301, "/plain/")  # CommonMiddleware's
    else:
        assert headers["x-frame-options"] == "DENY"  # XFrameOptionsMiddleware's


def test_importing_chorus_server_does_not_import_djangos_auth_middleware():
    import subprocess
    import sys

    code = (
        "import sys, chorus.server; "
        "assert 'django.contrib.auth.middleware' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
