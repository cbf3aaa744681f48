"""chorus's suite: an ASGI handler with chorus's middleware alone, and a check that
the library's tests never import the reference project."""

from __future__ import annotations

import sys

import pytest
from django.conf import settings as django_settings

from chorus.server import ChorusASGIHandler

CHORUS_SETTINGS = "tests.chorus.settings"


@pytest.fixture
def chorus_app(settings):
    """``ChorusASGIHandler`` with only chorus's request-id middleware, whatever the settings."""
    settings.MIDDLEWARE = ["chorus.server.RequestIDMiddleware"]
    return ChorusASGIHandler()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The newcomer's path (test_newcomer.py) builds, installs and serves: only when asked for.
    if "newcomer" in (config.option.markexpr or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("newcomer") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("newcomer") is None]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Run on its own settings (CI does), the library's suite must not need storefront.
    if django_settings.configured and django_settings.SETTINGS_MODULE == CHORUS_SETTINGS:
        leaked = sorted(name for name in sys.modules if name.split(".")[0] == "storefront")
        if leaked:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            print(f"\nchorus's tests imported storefront: {', '.join(leaked[:5])}", file=sys.stderr)
