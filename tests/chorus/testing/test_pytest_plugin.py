"""chorus's pytest plugin: its fixtures in this suite, and in a user's suite run by pytest."""

from __future__ import annotations

import textwrap

import pytest

import chorus
from chorus.engine.policies import _switches
from chorus.testing import MockTransport

pytest_plugins = ["pytester"]


@pytest.fixture
def _upstreams(settings):
    settings.CHORUS = {
        "UPSTREAMS": {
            "inventory": {"BASE_URL": "http://127.0.0.1:9/inventory", "TIMEOUT": 0.5},
            "users": {"BASE_URL": "http://127.0.0.1:9/users", "TIMEOUT": 0.5},
        },
    }
    settings.ROOT_URLCONF = "tests.chorus.support.composite_urls"


@pytest.mark.usefixtures("_upstreams")
async def test_the_fixture_answers_a_composite_view(mock_upstreams, async_client):
    assert isinstance(mock_upstreams, MockTransport)
    mock_upstreams.route("GET inventory /items/{sku}", json={"sku": "a1", "stock": 4})
    mock_upstreams.get("users", "/summary", json={"users": 2})
    response = await async_client.get("/items/a1/")
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["item"] == {"sku": "a1", "stock": 4}
    assert body["sources"]["users"]["status"] == "ok"
    assert chorus.get_transport() is mock_upstreams


def test_chorus_policies_turns_testing_on_for_the_test_only(chorus_policies):
    assert _switches.testing is True


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("chorus")


INI = "pythonpath = .\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
USER_SETTINGS = """
SECRET_KEY = "x"
INSTALLED_APPS = ["chorus"]
DATABASES = {}
USE_TZ = True
CHORUS = {"UPSTREAMS": {"inventory": {"BASE_URL": "http://127.0.0.1:9/api"}}}
"""


@pytest.fixture
def user_suite(pytester, monkeypatch):
    """A user's project: settings of its own, chorus's plugin loaded by its entry point."""
    pytester.makepyfile(user_settings=USER_SETTINGS)
    pytester.makeini(f"[pytest]\n{INI}")
    # The suite running this one says which settings it uses in the environment.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "user_settings")
    return pytester


def test_an_unmatched_request_fails_a_users_test(user_suite):
    user_suite.makepyfile(
        test_user=textwrap.dedent(
            """
            import chorus

            async def test_stock(mock_upstreams):
                mock_upstreams.get("inventory", "/stock", json={"count": 3})
                assert await chorus.fetch(chorus.call("inventory", "/stock")) == {"count": 3}

            async def test_forgot_a_route(mock_upstreams):
                result = await chorus.gather(p=chorus.call("inventory", "/prices"))
                assert result.status_code == 502
            """
        )
    )
    run = user_suite.runpytest_subprocess("-p", "no:cacheprovider")
    run.assert_outcomes(passed=2, errors=1)
    run.stdout.fnmatch_lines(
        ["*UnmatchedRequestError: no mock route for GET inventory /prices (routes: none)*"]
    )


def test_the_ini_option_gives_every_test_chorus_policies(user_suite):
    user_suite.makeini(f"[pytest]\n{INI}chorus_policies = true\n")
    user_suite.makepyfile(
        test_user=textwrap.dedent(
            """
            from chorus.testing import is_testing

            def test_on():
                assert is_testing()
            """
        )
    )
    user_suite.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    user_suite.makeini(f"[pytest]\n{INI}")
    user_suite.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(failed=1)
