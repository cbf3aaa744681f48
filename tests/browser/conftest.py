"""Storefront under a real uvicorn (a child process) against the simulator, and a headless Chromium.

The server is the production shape: one uvicorn worker on a socket bound
here (so port 0 is race-free), ``DEBUG=0``, its own migrated SQLite database
in a temporary ``STOREFRONT_VAR_DIR``, every upstream pointed at the session's
simulator and the fault controls at its ``/_faults``. The browser is the OS's
Chromium, driven by Playwright; without it the tests skip, or fail under
``CHORUS_REQUIRE_SERVICES=1`` (CI installs it, see ``.ci/run``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.services import _unavailable
from upstreams.catalog import SERVICES
from upstreams.server import SimulatorServer, bind_socket

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT = 30.0
STAFF_USERNAME = "staff"
STAFF_PASSWORD = "browser-tests-staff-password"


def storefront_env(var_dir: Path, simulator: SimulatorServer) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "storefront.settings",
        "DEBUG": "0",
        "SECRET_KEY": "browser-tests-only-not-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STOREFRONT_VAR_DIR": str(var_dir),
        "STOREFRONT_SIMULATOR_URL": simulator.url,
        "LOG_LEVEL": "WARNING",
        # The page's fan-out as it is, every call reaching the simulator; the resilience
        # policies get a server of their own (``resilient_storefront_url``).
        "STOREFRONT_POLICIES": "0",
        # Room for a loaded machine: the pages' tests ask for 450 ms and 1.5 s latencies
        # and for hangs, never for a call to time out at 0.5 s by itself (CI saw a panel
        # left empty). The resilient server keeps the shipped 0.5 s: its breaker needs it.
        "STOREFRONT_UPSTREAM_TIMEOUT": "2",
        "STOREFRONT_DEADLINE": "4",
        # Production settings otherwise, but served over plain http on loopback.
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }
    env.pop("DATABASE_URL", None)  # the server's own SQLite file, whatever the suite runs on
    env.pop("REDIS_URL", None)
    for name in SERVICES:
        env[f"STOREFRONT_UPSTREAM_{name.upper()}_URL"] = simulator.service_url(name)
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="session")
def storefront_server_env(
    simulator_server: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The server's environment, its database migrated, with a staff user to log in as."""
    env = storefront_env(tmp_path_factory.mktemp("storefront-var"), simulator_server)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD},
        "createsuperuser",
        "--noinput",
        "--username",
        STAFF_USERNAME,
        "--email",
        "staff@example.com",
    )
    return env


@pytest.fixture(scope="session")
def api_headers(storefront_server_env: dict[str, str]) -> dict[str, str]:
    """Headers with a read-write API key stored in the server's database."""
    key = _manage(
        storefront_server_env,
        "api_key",
        "create",
        "--name",
        "browser tests",
        "--scope",
        "read-write",
    )
    return {"Authorization": f"Bearer {key.strip()}"}


@contextlib.contextmanager
def serving(env: dict[str, str], warm_headers: dict[str, str] | None = None) -> Iterator[str]:
    """Storefront under uvicorn in a child process with ``env``; yields its base URL.

    With ``warm_headers`` (an API key), the two fan-outs the pages make are asked once
    before the URL is handed out: a cold worker's first fan-out opens its upstream
    connections and runs its views' first code, and on a loaded machine that passed a
    0.5 s upstream timeout in the page's one load (CI: a panel never filled).
    """
    sock = bind_socket("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "storefront.asgi:application",
            "--fd",
            str(sock.fileno()),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "2",
        ],
        cwd=ROOT,
        env=env,
        pass_fds=[sock.fileno()],
    )
    sock.close()  # the child holds its own copy
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("storefront did not start under uvicorn") from None
                time.sleep(0.05)
        for path in ("/api/dashboard/", "/api/aggregate-status/") if warm_headers else ():
            httpx.get(f"{url}{path}", headers=warm_headers, timeout=10, trust_env=False)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def storefront_url(
    storefront_server_env: dict[str, str], api_headers: dict[str, str]
) -> Iterator[str]:
    """Base URL of a storefront served by uvicorn in a child process, for the whole session."""
    with serving(storefront_server_env, warm_headers=api_headers) as url:
        yield url


@pytest.fixture(scope="module")
def resilient_storefront_url(
    storefront_server_env: dict[str, str], api_headers: dict[str, str]
) -> Iterator[str]:
    """Another storefront on the same database, with its resilience policies as shipped.

    Its calls get 1 s (shipped: 0.5 s): short enough for a hanging upstream to trip
    its breaker within the test, long enough that a loaded CI machine does not time
    out the page's first load (a 504 from /api/aggregate-status/ at 0.5 s)."""
    env = {
        **storefront_server_env,
        "STOREFRONT_POLICIES": "1",
        "STOREFRONT_UPSTREAM_TIMEOUT": "1",
        "STOREFRONT_DEADLINE": "3",
    }
    with serving(env, warm_headers=api_headers) as url:
        yield url


@pytest.fixture
def storefront(storefront_url: str, simulator: SimulatorServer) -> str:
    """The session's storefront, with the simulator's faults and stats reset for this test."""
    return storefront_url


@pytest.fixture
def chromium_browser() -> Iterator[object]:
    # Per test, not per session: Playwright's sync API keeps its event loop running in
    # this thread while it is open, and the suite's async fixtures need the thread's loop.
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base_url: str) -> None:
    """Log in as staff through the login page, as a person would; lands on the dashboard."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", STAFF_USERNAME)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


@pytest.fixture
def page(chromium_browser, storefront_url):
    """A fresh browser context and page, logged in as staff; console and page errors collected."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, storefront_url)
    # Off the dashboard the log-in lands on: its fan-outs still in flight would otherwise
    # land in the test's console (a 504 of a busy machine's first dashboard, say).
    page.goto("about:blank")
    page.console_errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
