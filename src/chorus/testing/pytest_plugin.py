"""chorus's pytest plugin: the fixtures ``chorus_policies`` and ``mock_upstreams``.

pytest loads it by itself once django-chorus is installed (the ``pytest11``
entry point); with plugin autoloading off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``),
enable it with ``-p chorus.testing.pytest_plugin`` or
``pytest_plugins = ["chorus.testing.pytest_plugin"]`` in a root ``conftest.py``.

- ``chorus_policies``: retries without backoff sleeps, and every breaker,
  retry budget and memory cache forgotten before and after the test. Set
  ``chorus_policies = true`` in the pytest ini file to give it to every test.
- ``mock_upstreams``: a ``chorus.testing.MockTransport`` answering every
  chorus call of the test (add its routes in the test); the transport in use
  before is back afterwards, and a request no route matched fails the test.
  It uses ``chorus_policies``, so no cached answer or open breaker of another
  test answers in the mock's place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from chorus.testing import MockTransport

__all__ = ["chorus_policies", "mock_upstreams_fixture", "pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "chorus_policies",
        type="bool",
        default=False,
        help="give chorus's chorus_policies fixture to every test (django-chorus)",
    )


@pytest.fixture
def chorus_policies() -> Iterator[None]:
    """No backoff sleeps between retries; no breaker, budget or cache kept across tests."""
    from chorus import testing

    was_testing = testing.is_testing()
    testing.set_testing(True)
    testing.reset_policies()
    try:
        yield
    finally:
        testing.reset_policies()
        testing.set_testing(was_testing)


@pytest.fixture(autouse=True)
def _chorus_policies_everywhere(request: pytest.FixtureRequest) -> None:
    if request.config.getini("chorus_policies"):
        request.getfixturevalue("chorus_policies")


@pytest.fixture(name="mock_upstreams")
def mock_upstreams_fixture(chorus_policies: None) -> Iterator[MockTransport]:
    """A ``MockTransport`` answering every chorus call of the test, with no route yet."""
    from chorus.testing import mock_upstreams

    with mock_upstreams() as mock:
        yield mock
