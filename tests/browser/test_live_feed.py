"""The dashboard's live orders feed in a real Chromium, fed by /api/live/ (database bus, SQLite)."""

import subprocess
import sys
import time

import httpx
import pytest

from tests.browser.conftest import ROOT, _manage, log_in
from tests.fixtures.ports import free_port

WAIT_MS = 10_000
DELIVERY_MS = 2_000


@pytest.fixture(scope="module")
def writer_headers(storefront_server_env: dict[str, str]) -> dict[str, str]:
    """A read-write key (the shared ``writer_headers`` one may only read)."""
    args = ("api_key", "create", "--name", "live feed", "--scope", "read-write")
    return {"X-API-Key": _manage(storefront_server_env, *args).strip()}


def _customer(env: dict[str, str]) -> int:
    code = (
        "from storefront.orders.models import Customer\n"
        "c, _ = Customer.objects.get_or_create(email='feed@example.com', defaults={'name': 'Feed'})\n"
        "print(c.pk)\n"
    )
    return int(_manage(env, "shell", "--no-imports", "-c", code).strip())


def test_an_order_created_through_the_api_appears_on_the_open_page_within_2_s(
    page, storefront, storefront_server_env, writer_headers
):
    customer = _customer(storefront_server_env)
    page.goto(f"{storefront}/")
    page.wait_for_selector('#live-feed[data-state="live"]', timeout=WAIT_MS)
    response = httpx.post(
        f"{storefront}/api/orders/",
        json={
            "customer": customer,
            "items": [{"sku": "FEED-1", "qty": 3, "unit_price": "1234.50"}],
        },
        headers=writer_headers,
        trust_env=False,
    )
    assert response.status_code == 201
    order_id = response.json()["id"]
    row = page.wait_for_selector(
        f'#live-orders li[data-order-id="{order_id}"]', timeout=DELIVERY_MS
    )
    assert "fresh" in row.get_attribute("class")
    assert "€3,703.50" in row.inner_text()
    assert page.console_errors == []


def test_a_status_change_updates_the_order_in_place(
    page, storefront, storefront_server_env, writer_headers
):
    customer = _customer(storefront_server_env)
    page.goto(f"{storefront}/")
    page.wait_for_selector('#live-feed[data-state="live"]', timeout=WAIT_MS)
    order = httpx.post(
        f"{storefront}/api/orders/",
        json={"customer": customer, "items": [{"sku": "FEED-2", "qty": 1, "unit_price": "5.00"}]},
        headers=writer_headers,
        trust_env=False,
    ).json()
    page.wait_for_selector(f'#live-orders li[data-order-id="{order["id"]}"]', timeout=DELIVERY_MS)
    httpx.patch(
        f"{storefront}/api/orders/{order['id']}/",
        json={"status": "paid"},
        headers=writer_headers,
        trust_env=False,
    ).raise_for_status()
    page.wait_for_selector(
        f'#live-orders li[data-order-id="{order["id"]}"][data-status="paid"]', timeout=DELIVERY_MS
    )
    assert page.locator(f'#live-orders li[data-order-id="{order["id"]}"]').count() == 1


def test_money_is_shown_one_way_across_the_page(page, storefront):
    page.goto(f"{storefront}/")
    analytics = page.wait_for_selector('.panel[data-source="analytics"][data-state="ok"]')
    billing = page.wait_for_selector('.panel[data-source="billing"][data-state="ok"]')
    for panel in (analytics, billing):
        text = panel.inner_text()
        assert "€" in text
        assert "EUR" not in text


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    """storefront under uvicorn on ``port`` (the same one again after a restart: the page
    reconnects to the address it knows)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "storefront.asgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
         "--http", "httptools", "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False)
                return server
            except httpx.TransportError:
                assert server.poll() is None, "storefront exited at start"
                assert time.monotonic() < deadline, "storefront did not start"
                time.sleep(0.05)
    except BaseException:
        _stop(server)  # not left running for the rest of the suite
        raise


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def test_the_feed_reconnects_by_itself_after_the_server_restarts(
    chromium_browser, storefront_server_env, writer_headers
):
    env = {**storefront_server_env, "ALLOWED_HOSTS": "127.0.0.1"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    customer = _customer(env)
    server = _serve(env, port)
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        log_in(page, base)
        page.wait_for_selector('#live-feed[data-state="live"]', timeout=WAIT_MS)
        _stop(server)
        page.wait_for_selector('#live-feed[data-state="reconnecting"]', timeout=WAIT_MS)
        server = _serve(env, port)
        page.wait_for_selector('#live-feed[data-state="live"]', timeout=WAIT_MS)
        order = httpx.post(
            f"{base}/api/orders/",
            json={
                "customer": customer,
                "items": [{"sku": "AGAIN", "qty": 1, "unit_price": "2.00"}],
            },
            headers=writer_headers,
            trust_env=False,
        ).json()
        page.wait_for_selector(
            f'#live-orders li[data-order-id="{order["id"]}"]', timeout=DELIVERY_MS
        )
    finally:
        context.close()
        _stop(server)
