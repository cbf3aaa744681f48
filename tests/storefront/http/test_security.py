"""Production security settings: ``check --deploy`` passes, headers and cookies follow them."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from chorus.server import ChorusASGIHandler
from storefront.asgi import application
from tests.fixtures.asgi import asgi_request

ROOT = Path(__file__).resolve().parents[3]


def manage(tmp_path: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "example.com",
        "STOREFRONT_VAR_DIR": str(tmp_path),
        **environ,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_accepts_the_production_defaults(tmp_path):
    checked = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_check_deploy_still_sees_settings_behind_the_async_middleware(tmp_path):
    checked = manage(
        tmp_path,
        "check",
        "--deploy",
        SECURE_HSTS_SECONDS="0",
        SECURE_SSL_REDIRECT="0",
        CSRF_COOKIE_SECURE="0",
    )
    found = set(re.findall(r"\((security\.W\d+)\)", checked.stderr))
    assert {"security.W004", "security.W008", "security.W016"} <= found


def test_development_keeps_plain_http_working(tmp_path):
    shown = manage(
        tmp_path,
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)",
        DEBUG="1",
    )
    assert shown.stdout.splitlines()[-1].split() == ["False", "0", "False", "False"], shown.stderr


@pytest.fixture
def production(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.CSRF_COOKIE_SECURE = True
    return ChorusASGIHandler()  # middleware reads these settings when it is built


async def test_plain_http_is_redirected_to_https_except_the_probes(production, transactional_db):
    redirected = await asgi_request(production, "/api/orders/stats/")
    assert redirected.status == 301
    assert redirected.headers["location"] == "https://127.0.0.1/api/orders/stats/"
    assert (await asgi_request(production, "/healthz")).status == 200


async def test_https_responses_carry_the_security_headers(production, transactional_db):
    response = await asgi_request(production, "/login/", headers={"x-forwarded-proto": "https"})
    assert response.status == 200
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("csrftoken=")
    assert "Secure" in cookie


async def test_the_login_page_holds_nothing_inline_and_loads_only_its_own_assets(
    transactional_db,
):
    response = await asgi_request(application, "/login/")
    page = response.body.decode()
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script" not in page
    assert "<style" not in page
    assert "style=" not in page
    assert all(url.startswith("/") for url in re.findall(r'(?:src|href)="([^"]+)"', page)
               if not url.startswith("data:"))  # fmt: skip


async def test_the_dashboard_page_is_served_under_the_policy(staff_cookie):
    response = await asgi_request(application, "/", headers={"cookie": staff_cookie})
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "'unsafe-inline'" not in policy


async def test_api_answers_carry_the_strictest_policy(api_key):
    response = await asgi_request(application, "/api/users/active-count/", headers=api_key)
    assert response.status == 200
    assert (
        response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )


async def test_the_admin_login_needs_its_csrf_token(transactional_db):
    response = await asgi_request(
        application,
        "/admin/login/",
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=b"username=a&password=b",
    )
    assert response.status == 403
