"""The dashboard page in a real Chromium: panels fill from the stream, the waterfall draws,
faults injected from the page degrade one panel while the others still load."""

from pathlib import Path

from tests.browser.conftest import log_in

PANELS = ("inventory", "notifications", "analytics", "users", "billing")
WAIT_MS = 10_000


def panel(page, name, state="ok"):
    return page.wait_for_selector(
        f'.panel[data-source="{name}"][data-state="{state}"]', timeout=WAIT_MS
    )


def test_the_page_loads_without_console_errors_fills_every_panel_and_draws_the_waterfall(
    page, storefront, tmp_path
):
    page.goto(f"{storefront}/")
    for name in PANELS:
        panel(page, name)
    page.wait_for_selector('#waterfall[data-drawn="true"]', timeout=WAIT_MS)
    rows = page.locator("#waterfall .row[data-source]")
    assert rows.count() >= 3
    assert page.locator('#waterfall .row[data-source="inventory"] .bar.ok').count() == 1
    width = page.eval_on_selector(
        '#waterfall .row[data-source="inventory"] .bar', "bar => bar.getBoundingClientRect().width"
    )
    assert width > 10
    assert "on hand" in panel(page, "inventory").inner_text()
    assert "active" in panel(page, "users").inner_text()
    assert page.locator("#run-status").inner_text().startswith("Complete")
    shot = Path(tmp_path) / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.console_errors == []


def test_panels_fill_one_by_one_as_their_events_land(page, storefront, simulator):
    simulator.set_fault("inventory", latency_ms=450)
    # Record the order in which panels turn ok, whatever the browser's pace.
    page.add_init_script(
        """
        window.landed = [];
        new MutationObserver((changes) => {
            for (const change of changes) {
                if (change.target.dataset.state === "ok") window.landed.push(change.target.dataset.source);
            }
        }).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state"]});
        """
    )
    page.goto(f"{storefront}/")
    panel(page, "inventory")
    landed = page.evaluate("window.landed")
    # Declared first, inventory lands last: panels follow the stream, not the declaration.
    assert landed.index("notifications") < landed.index("inventory")
    assert landed.index("analytics") < landed.index("inventory")
    assert page.console_errors == []


def test_a_fault_injected_from_the_page_degrades_its_panel_while_the_others_still_fill(
    page, storefront, simulator, tmp_path
):
    page.goto(f"{storefront}/")
    panel(page, "analytics")
    page.select_option("#fault-service", "analytics")
    page.select_option("#fault-kind", "hang")
    page.click("#fault-inject")
    degraded = panel(page, "analytics", "degraded")
    assert "optional" in degraded.inner_text()
    assert "timeout" in degraded.inner_text().lower()
    for name in ("inventory", "notifications", "users", "billing"):
        panel(page, name)
    page.wait_for_selector('#fault-list li[data-service="analytics"]', timeout=WAIT_MS)
    assert simulator.set_fault("analytics")["fault"] == "hang"  # it really reached the simulator
    page.wait_for_selector('#waterfall .row[data-source="analytics"] .bar.bad', timeout=WAIT_MS)
    page.screenshot(path=str(Path(tmp_path) / "degraded.png"), full_page=True)

    page.click("#fault-clear")
    panel(page, "analytics")
    assert simulator.set_fault("analytics")["fault"] is None
    assert page.console_errors == []


def test_sync_versus_async_shows_both_timings_side_by_side(page, storefront):
    page.goto(f"{storefront}/")
    page.click("#compare-run")
    page.wait_for_selector('#compare-result[data-done="true"]', timeout=WAIT_MS)
    sync = page.inner_text('#compare-result .row[data-kind="sync"] .num')
    concurrent = page.inner_text('#compare-result .row[data-kind="async"] .num')
    sync_ms, async_ms = (int(text.removesuffix(" ms")) for text in (sync, concurrent))
    assert sync_ms >= 280  # three 100 ms calls, one after another
    assert async_ms < sync_ms
    assert "faster" in page.inner_text("#compare-result .verdict")
    assert page.console_errors == []


def test_on_a_phone_the_page_fits_the_screen(chromium_browser, storefront, tmp_path):
    context = chromium_browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    try:
        page = context.new_page()
        log_in(page, storefront)
        for name in PANELS:
            panel(page, name)
        page.wait_for_selector('#waterfall[data-drawn="true"]', timeout=WAIT_MS)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        boxes = page.eval_on_selector_all(
            ".panel", "panels => panels.map(p => p.getBoundingClientRect().width)"
        )
        assert min(boxes) > 300  # one column, full width
        page.screenshot(path=str(Path(tmp_path) / "phone.png"), full_page=True)
    finally:
        context.close()


def test_the_browsers_own_event_source_reconnects_and_resumes_from_last_event_id(page, storefront):
    page.goto(f"{storefront}/")
    # The server ends each connection after four steps; EventSource reconnects by itself
    # and sends Last-Event-ID, so the steps continue where they stopped.
    received = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const ids = [];
            let opens = 0;
            const source = new EventSource("/api/events/?interval=0.05&per_connection=4");
            source.addEventListener("open", () => { opens += 1; });
            source.addEventListener("step", (event) => {
                ids.push(event.lastEventId);
                if (JSON.parse(event.data).step === 9) { source.close(); resolve({ids, opens}); }
            });
            setTimeout(() => { source.close(); reject(new Error(`stuck after ${ids}`)); }, 8000);
        })"""
    )
    assert received["ids"] == [str(n) for n in range(10)]
    assert received["opens"] == 3
    assert page.console_errors == []
