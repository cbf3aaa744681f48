"""Helpers for a project's own test suite: policies that do not leak, upstreams faked.

    # conftest.py
    import chorus.testing

    @pytest.fixture(autouse=True)
    def _chorus_policies():
        chorus.testing.set_testing(True)   # retries do not sleep between attempts
        yield
        chorus.testing.reset_policies()    # no breaker, budget or cache leaks into the next test

    # a test
    def test_dashboard(client):
        with chorus.testing.mock_upstreams({
            "GET inventory /stock": chorus.testing.MockResponse(json={"count": 3}),
        }) as mock:
            response = client.get("/dashboard/")
        assert response.json()["data"]["inventory"] == {"count": 3}
        assert mock.calls("GET inventory /stock")

``reset_policies`` forgets what this process knows; ``areset_shared_state``
also deletes chorus's keys in Redis (shared breakers and caches), for suites
that run against a Redis of their own. The pytest plugin
``chorus.testing.pytest_plugin`` (loaded by pytest once django-chorus is
installed) gives the same as the fixtures ``chorus_policies`` and ``mock_upstreams``.
"""

from __future__ import annotations

from chorus.testing._mock import (
    Answer,
    Handler,
    MockRequest,
    MockResponse,
    MockRoute,
    MockTransport,
    UnmatchedRequestError,
    mock_upstreams,
)
from chorus.testing._policies import areset_shared_state, is_testing, reset_policies, set_testing

__all__ = [
    "Answer",
    "Handler",
    "MockRequest",
    "MockResponse",
    "MockRoute",
    "MockTransport",
    "UnmatchedRequestError",
    "areset_shared_state",
    "is_testing",
    "mock_upstreams",
    "reset_policies",
    "set_testing",
]
