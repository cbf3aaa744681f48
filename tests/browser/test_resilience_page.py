"""The page on a storefront with its resilience policies as shipped, in a real Chromium.

Analytics hangs: once its breaker opens, the dashboard answers at about one
upstream latency again, the analytics panel shows its last good answer marked
stale, and the "Upstream health" card shows the breaker open. When the fault
is removed, the breaker closes by itself after its cool-down.
"""

import time
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import log_in

WAIT_MS = 30_000


@pytest.fixture
def resilient_page(chromium_browser, resilient_storefront_url, simulator):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    log_in(page, resilient_storefront_url)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    try:
        yield page
    finally:
        context.close()


def breaker(page, upstream, state):
    return page.wait_for_selector(
        f'#breakers li[data-upstream="{upstream}"][data-breaker="{state}"]', timeout=WAIT_MS
    )


def test_a_hanging_upstream_trips_its_breaker_the_page_shows_stale_data_and_then_recovers(
    resilient_page, resilient_storefront_url, api_headers, simulator, tmp_path
):
    page = resilient_page
    page.wait_for_selector('.panel[data-source="analytics"][data-state="ok"]', timeout=WAIT_MS)
    breaker(page, "analytics", "closed")
    simulator.set_fault("analytics", fault="hang")

    # Dashboard traffic until the breaker opens: the cache answers for its first 5 s, then
    # each call hangs to its 1 s timeout (answered stale) and counts as a failure.
    with httpx.Client(base_url=resilient_storefront_url, headers=api_headers) as client:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            analytics = client.get("/api/upstreams/").json()["upstreams"]["analytics"]
            if analytics["breaker"]["state"] == "open":
                break
            client.get("/api/dashboard/", timeout=5)
        else:
            pytest.fail(f"the breaker did not open: {analytics}")
        requests_while_open = simulator.stats()["services"]["analytics"]["requests"]

        breaker(page, "analytics", "open")
        page.click("#run")
        stale = page.wait_for_selector(
            '.panel[data-source="analytics"][data-state="stale"]', timeout=WAIT_MS
        )
        assert "stale · circuit open" in stale.inner_text().lower()
        assert "visitors today" in stale.inner_text()  # the last good analytics, shown
        # The page's policy forbids eval, so wait_for_function cannot poll: read until done.
        deadline = time.monotonic() + 10
        while not (status := page.inner_text("#run-status")).startswith("Partial in"):
            assert time.monotonic() < deadline, status
            page.wait_for_timeout(100)
        # About one upstream latency, not the 1 s analytics timeout.
        server_ms = int(status.removeprefix("Partial in ").split(" ms")[0])
        assert server_ms < 400, status
        assert simulator.stats()["services"]["analytics"]["requests"] == requests_while_open
        page.screenshot(path=str(Path(tmp_path) / "breaker-open.png"), full_page=True)

        simulator.set_fault("analytics", fault=None)  # healed
        # After the 5 s cool-down the next call is a probe; it succeeds and closes the breaker.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            client.get("/api/dashboard/", timeout=5)
            if (
                client.get("/api/upstreams/").json()["upstreams"]["analytics"]["breaker"]["state"]
                == "closed"
            ):
                break
            time.sleep(0.5)
    breaker(page, "analytics", "closed")
    page.click("#run")
    page.wait_for_selector('.panel[data-source="analytics"][data-state="ok"]', timeout=WAIT_MS)
    assert page.console_errors == []
