"""The dashboard page and the static files it loads (the page's behaviour: tests/browser/)."""

import pytest

from storefront.asgi import application
from tests.fixtures.asgi import asgi_request


async def test_the_page_links_its_own_script_and_style_under_a_same_origin_policy(
    settings, staff_cookie
):
    settings.STOREFRONT_SIMULATOR_URL = ""
    response = await asgi_request(application, "/", headers={"cookie": staff_cookie})
    page = response.body.decode()
    assert response.status == 200
    assert "/static/dashboard/dashboard.js" in page
    assert "/static/dashboard/dashboard.css" in page
    assert 'data-stream-url="/api/dashboard/stream/"' in page
    assert "<script>" not in page
    assert "style=" not in page
    assert "http" not in page.split("<body")[1]  # nothing from another origin
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert 'id="fault-form"' not in page


async def test_fault_controls_appear_only_when_the_simulator_is_in_use(settings, staff_cookie):
    settings.STOREFRONT_SIMULATOR_URL = "http://127.0.0.1:8100"
    page = (await asgi_request(application, "/", headers={"cookie": staff_cookie})).body.decode()
    assert 'id="fault-form"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'data-faults-url="/api/simulator/faults/"' in page


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/dashboard/dashboard.js", "text/javascript"),
        ("/static/dashboard/dashboard.css", "text/css"),
    ],
)
async def test_static_files_are_served_with_an_etag(path, content_type):
    response = await asgi_request(application, path)
    assert response.status == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.body
    again = await asgi_request(
        application, path, headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status == 304
    assert again.body == b""


@pytest.mark.parametrize(
    "path",
    ["/static/dashboard/missing.js", "/static/../settings.py", "/static/dashboard//dashboard.js"],
)
async def test_anything_else_under_static_is_a_json_404(path):
    response = await asgi_request(application, path)
    assert response.status == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_login_page_style_is_served_from_the_access_app():
    response = await asgi_request(application, "/static/access/login.css")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/css")


async def test_a_missing_static_file_is_a_404_not_a_500_with_debug_on(settings):
    settings.DEBUG = True  # the demo's default, where ServeStatic itself would raise
    response = await asgi_request(application, "/static/dashboard/missing.js")
    assert response.status == 404  # Django's debug 404 page; JSON with DEBUG off (above)


async def test_static_files_are_not_offered_to_other_origins():
    response = await asgi_request(application, "/static/dashboard/dashboard.js")
    assert response.status == 200
    assert "access-control-allow-origin" not in response.headers
