"""chorus.testing's MockTransport under the real engine: gather, fetch, policies, the envelope."""

from __future__ import annotations

import asyncio

import orjson
import pytest

import chorus
from chorus import Outcome
from chorus.testing import MockResponse, MockTransport, UnmatchedRequestError, mock_upstreams

# Hosts nothing listens on: a request that escaped the mock would fail, not pass.
UPSTREAMS = {
    "inventory": {"BASE_URL": "http://127.0.0.1:9/api", "TIMEOUT": 0.5},
    "analytics": {"BASE_URL": "http://127.0.0.1:9/api/analytics", "TIMEOUT": 0.5},
    "billing": {
        "BASE_URL": "http://127.0.0.1:9",
        "TIMEOUT": 1.0,
        "RETRY": {"ATTEMPTS": 3},
        "MAX_BODY_BYTES": 64,
    },
}


@pytest.fixture(autouse=True)
def _upstreams(settings, chorus_policies):
    settings.CHORUS = {"UPSTREAMS": UPSTREAMS, "DEFAULT_DEADLINE": 2.0}


async def test_a_gather_is_answered_by_the_routes():
    routes = {
        "GET inventory /stock": MockResponse(json={"count": 3}),
        "GET analytics /summary": MockResponse(json={"visits": 10}, headers={"X-A": "1"}),
    }
    with mock_upstreams(routes) as mock:
        result = await chorus.gather(
            inventory=chorus.call("inventory", "/stock", params={"warehouse": "north"}),
            analytics=chorus.call("analytics", "/summary", required=False),
            deadline=1.0,
        )
    assert result.status_code == 200
    assert result.complete
    assert result.data == {"inventory": {"count": 3}, "analytics": {"visits": 10}}
    # analytics's base URL is under inventory's: the longest base URL names the upstream.
    # (in the order the calls reached the transport, which concurrency does not fix)
    assert sorted((r.upstream, r.path) for r in mock.requests) == [
        ("analytics", "/summary"),
        ("inventory", "/stock"),
    ]
    (stock,) = mock.calls("GET inventory /stock")
    assert stock.params == (("warehouse", "north"),)
    assert stock.url == "http://127.0.0.1:9/api/stock"


async def test_the_envelope_reports_a_mocked_failure_as_a_real_one():
    with mock_upstreams(
        {
            "GET inventory /stock": MockResponse(json={"count": 3}),
            "GET analytics /summary": MockResponse(503, body="down"),
        }
    ):
        result = await chorus.gather(
            inventory=chorus.call("inventory", "/stock"),
            analytics=chorus.call("analytics", "/summary", required=False),
        )
    envelope = orjson.loads(result.response().content)
    assert envelope["complete"] is False
    assert envelope["sources"]["analytics"]["status"] == "bad_status"
    assert envelope["sources"]["analytics"]["http_status"] == 503
    assert envelope["data"]["analytics"] is None


async def test_an_unmatched_request_fails_its_call_naming_what_was_asked():
    mock = MockTransport({"GET inventory /stock": MockResponse(json=1)})
    with mock_upstreams(mock, assert_all_matched=False):
        result = await chorus.gather(
            items=chorus.call("inventory", "/items/{sku}", path_params={"sku": "a1"}),
        )
    assert result.status_code == 502
    source = result.sources["items"]
    assert source.outcome is Outcome.ERROR
    assert source.error is not None
    assert "GET inventory /items/a1" in source.error
    assert [str(r) for r in mock.unmatched] == ["GET inventory /items/a1"]
    with pytest.raises(UnmatchedRequestError) as raised:
        mock.assert_all_matched()
    assert "no mock route for GET inventory /items/a1" in str(raised.value)
    assert "routes: GET inventory /stock" in str(raised.value)


async def gather_unrouted():
    with mock_upstreams():
        return await chorus.gather(p=chorus.call("inventory", "/prices", params={"q": "x"}))


async def test_the_block_ends_with_an_error_after_an_unmatched_request():
    with pytest.raises(UnmatchedRequestError, match=r"GET inventory /prices\?q=x \(routes: none\)"):
        await gather_unrouted()


async def test_fetch_raises_the_unmatched_request_as_a_connection_error():
    with mock_upstreams(assert_all_matched=False) as mock:
        with_raises = pytest.raises(chorus.UpstreamConnectionError, match="no mock route")
        with with_raises:
            await chorus.fetch(chorus.call("inventory", "/stock"))
    assert [str(r) for r in mock.unmatched] == ["GET inventory /stock"]


async def test_path_params_handlers_and_request_bodies():
    async def charge(request):
        await asyncio.sleep(0)
        return MockResponse(201, json={"id": request.path_params["account"], **request.json()})

    mock = MockTransport()
    mock.route("POST billing /accounts/{account}/charges", charge)
    with mock_upstreams(mock):
        data = await chorus.fetch(
            chorus.call(
                "billing",
                "/accounts/{account}/charges",
                path_params={"account": "acme"},
                method="POST",
                json={"cents": 250},
                headers={"Idempotency-Key": "k1"},
            )
        )
    assert data == {"id": "acme", "cents": 250}
    (seen,) = mock.calls("POST billing /accounts/{account}/charges")
    assert seen.header("idempotency-key") == "k1"
    assert seen.header("content-type") == "application/json"


async def test_retry_runs_over_the_mock():
    with mock_upstreams(
        {"GET billing /balance": [MockResponse(503), MockResponse(503), MockResponse(json=7)]}
    ) as mock:
        result = await chorus.gather(balance=chorus.call("billing", "/balance"))
    assert result.sources["balance"].ok
    assert result.sources["balance"].attempts == 3
    assert result["balance"] == 7
    assert len(mock.calls("GET billing /balance")) == 3


async def test_a_transport_error_is_retried_and_a_connect_timeout_reported():
    with mock_upstreams(
        {
            "GET billing /flaky": [chorus.TransportError("reset"), MockResponse(json="ok")],
            "GET inventory /stock": TimeoutError,
        }
    ):
        result = await chorus.gather(
            flaky=chorus.call("billing", "/flaky"),
            stock=chorus.call("inventory", "/stock", required=False),
        )
    assert result["flaky"] == "ok"
    assert result.sources["flaky"].attempts == 2
    assert result.sources["stock"].outcome is Outcome.TIMEOUT
    assert result.sources["stock"].error == "could not connect in time"


async def test_a_delay_runs_into_the_call_timeout():
    with mock_upstreams({"GET inventory /slow": MockResponse(json=1, delay=5)}):
        result = await chorus.gather(slow=chorus.call("inventory", "/slow", timeout=0.05))
    assert result.sources["slow"].outcome is Outcome.TIMEOUT
    assert result.status_code == 504
    assert result.elapsed_ms < 1000


async def test_the_body_limit_applies():
    with mock_upstreams({"GET billing /big": MockResponse(json="x" * 100)}):
        result = await chorus.gather(big=chorus.call("billing", "/big"))
    assert result.sources["big"].outcome is Outcome.BAD_BODY


async def test_the_transport_in_use_before_is_back_afterwards():
    before = chorus.get_transport()
    with mock_upstreams() as mock:
        assert chorus.get_transport() is mock
        with mock_upstreams() as inner:
            assert chorus.get_transport() is inner
        assert chorus.get_transport() is mock
    assert chorus.get_transport() is before
    assert isinstance(before, chorus.Http1Transport)


async def test_it_is_a_transport_factory_too():
    mock = MockTransport({"GET inventory /stock": MockResponse(json=2)})
    await chorus.aclose_transport()
    chorus.set_transport_factory(mock)
    try:
        assert await chorus.fetch(chorus.call("inventory", "/stock")) == 2
    finally:
        await chorus.aclose_transport()
        chorus.set_transport_factory(None)
    assert mock.calls("GET inventory /stock")


def test_a_malformed_route_is_refused_at_once():
    with pytest.raises(ValueError, match="expected 'METHOD upstream /path'"):
        MockTransport({"inventory /stock": MockResponse()})
    with pytest.raises(ValueError, match="matches the path only"):
        MockTransport({"GET inventory /stock?warehouse=north": MockResponse()})


def fail_inside_a_block_with_an_unmatched_request():
    with mock_upstreams() as mock:
        mock.unmatched.append(mock.requests[0] if mock.requests else None)  # type: ignore[arg-type]
        raise KeyError("the test's own failure")


def test_the_block_does_not_hide_its_own_error_behind_unmatched_requests():
    with pytest.raises(KeyError, match="the test's own failure"):
        fail_inside_a_block_with_an_unmatched_request()
