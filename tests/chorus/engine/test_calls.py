"""Each simulator fault, seen on the wire, maps to the right outcome, over either transport."""

import socket

import pytest

import chorus
from chorus import Outcome

pytestmark = pytest.mark.usefixtures("each_transport")


async def one(spec):
    result = await chorus.gather(only=spec, deadline=3)
    return result.sources["only"]


async def test_ok_call_returns_parsed_json(upstreams):
    landed = await one(chorus.call("inventory", "/stock"))
    assert landed.outcome is Outcome.OK
    assert landed.http_status == 200
    assert landed.data["items"][0]["sku"].startswith("SKU-")
    assert landed.ms >= 95  # the simulator's default 100 ms latency really was waited for


async def test_hang_is_a_timeout(upstreams):
    landed = await one(chorus.call("inventory", "/stock", params={"fault": "hang"}, timeout=0.2))
    assert landed.outcome is Outcome.TIMEOUT
    assert landed.error == "no answer within 200 ms"


async def test_slow_body_is_a_timeout(upstreams):
    spec = chorus.call("inventory", "/stock", params={"fault": "slow_body"}, timeout=0.5)
    assert (await one(spec)).outcome is Outcome.TIMEOUT


async def test_reset_is_an_error(upstreams):
    landed = await one(chorus.call("inventory", "/stock", params={"fault": "reset"}))
    assert landed.outcome is Outcome.ERROR
    assert landed.http_status is None


async def test_invalid_json_is_a_bad_body(upstreams):
    landed = await one(chorus.call("inventory", "/stock", params={"fault": "invalid_json"}))
    assert landed.outcome is Outcome.BAD_BODY
    assert landed.error == "body is not valid JSON"


async def test_oversize_body_is_cut_off_as_bad_body(upstreams):
    landed = await one(chorus.call("inventory", "/stock", params={"fault": "oversize"}))
    assert landed.outcome is Outcome.BAD_BODY
    assert landed.error == f"body larger than {256 * 1024} bytes"
    assert landed.ms < 2000


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_error_status_is_bad_status_and_its_body_is_not_copied(upstreams, status):
    landed = await one(chorus.call("inventory", "/stock", params={"status": status}))
    assert landed.outcome is Outcome.BAD_STATUS
    assert landed.http_status == status
    assert landed.data is None
    assert landed.error == f"upstream answered HTTP {status}"


async def test_refused_connection_is_an_error(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CHORUS = {"UPSTREAMS": {"gone": {"BASE_URL": f"http://127.0.0.1:{port}/x"}}}
    landed = await one(chorus.call("gone", "/y"))
    assert landed.outcome is Outcome.ERROR
    assert landed.error == "could not connect"


async def test_faults_set_through_the_api_apply(upstreams):
    await upstreams.aset_fault("billing", status=502)
    landed = await one(chorus.call("billing", "/summary"))
    assert landed.http_status == 502


async def test_fetch_raises_typed_errors(upstreams):
    assert (await chorus.fetch(chorus.call("users", "/summary")))["active_users"] > 0
    with pytest.raises(chorus.UpstreamStatusError) as caught:
        await chorus.fetch(chorus.call("users", "/summary", params={"status": 503}))
    assert caught.value.upstream == "users"
    assert caught.value.status == 503
    assert caught.value.elapsed_ms > 0
    with pytest.raises(chorus.UpstreamTimeoutError):
        await chorus.fetch(chorus.call("users", "/summary", params={"fault": "hang"}, timeout=0.1))


async def test_a_compressed_body_is_limited_by_its_inflated_size(settings):
    import gzip

    from aiohttp import web
    from aiohttp.test_utils import TestServer

    inflated = b"[" + b"0," * (300 * 1024) + b"0]"  # ~600 KiB of JSON, a few KiB gzipped

    async def bomb(request):
        return web.Response(
            body=gzip.compress(inflated),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    app = web.Application()
    app.router.add_get("/bomb", bomb)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": base, "MAX_BODY_BYTES": 64 * 1024}}}
        landed = await one(chorus.call("svc", "/bomb"))
    finally:
        await server.close()
    assert len(gzip.compress(inflated)) < 64 * 1024  # small on the wire ...
    assert landed.outcome is Outcome.BAD_BODY  # ... too large once inflated
    assert landed.error == f"body larger than {64 * 1024} bytes"


async def test_head_is_not_limited_by_the_size_it_announces(settings):
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    async def large(request):
        return web.Response(body=b"x" * (256 * 1024))  # HEAD: the length is sent, not the body

    app = web.Application()
    app.router.add_get("/large", large)  # aiohttp answers HEAD through the GET route
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        settings.CHORUS = {"UPSTREAMS": {"svc": {"BASE_URL": base, "MAX_BODY_BYTES": 1024}}}
        landed = await one(chorus.call("svc", "/large", method="HEAD"))
    finally:
        await server.close()
    assert landed.outcome is Outcome.OK, landed.error
    assert (landed.http_status, landed.data) == (200, None)
