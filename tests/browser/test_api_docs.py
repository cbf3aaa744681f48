"""/api/docs/ in a real Chromium: Swagger UI from the package's own files renders every
operation of /api/schema/, and "Try it out" answers through the staff session."""

from pathlib import Path

WAIT_MS = 15_000


def test_the_docs_render_every_operation_and_try_one(page, storefront, tmp_path):
    page.goto(f"{storefront}/api/docs/")
    page.wait_for_selector(".opblock", timeout=WAIT_MS)
    schema = page.evaluate("fetch('/api/schema/').then(r => r.json())")
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert page.locator(".opblock").count() == operations
    assert page.locator(".opblock-summary-path", has_text="/api/orders/{pk}/").count() == 2

    # Open GET /api/users/active-count/ and run it: the session authenticates the request.
    block = page.locator("#operations-orders-get_active_user_count")
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    response = block.locator(".live-responses-table tbody .response-col_status").first
    response.wait_for(timeout=WAIT_MS)
    assert response.inner_text().strip().startswith("200")
    assert "active_users" in block.locator(".live-responses-table .microlight").first.inner_text()

    shot = Path(tmp_path) / "docs.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.console_errors == []  # the page's CSP refuses nothing Swagger UI needs
