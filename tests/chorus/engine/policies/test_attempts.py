"""The envelope's ``attempts`` counts what really went out, the transport's re-send included."""

import chorus
from tests.chorus.engine.policies.conftest import JSON_OK, run
from tests.fixtures.raw_server import answer

GOOD = answer(JSON_OK, "200 OK", "Content-Type: application/json")


async def hang_up_after_each_answer(conn):
    """Answer one request per connection, then close it once the next request arrives."""
    await conn.read_request()
    await conn.send(GOOD)
    await conn.read_request()
    conn.writer.close()


async def test_a_reused_connection_dropped_and_resent_says_two_attempts(serve, one_upstream):
    server = await serve(hang_up_after_each_answer)
    one_upstream(server.url, RETRY={"ATTEMPTS": 2})
    assert (await run(chorus.call("svc", "/x"))).attempts == 1
    again = await run(chorus.call("svc", "/x"))  # the pooled connection is dead: re-sent
    assert again.ok
    assert again.attempts == 2
    assert len(server.requests) == 3  # what reached the server: 1 + 2
    assert chorus.policy_report()["svc"]["retry_budget"]["retries"] == 1


async def test_without_policies_the_resend_is_still_counted(serve, one_upstream):
    server = await serve(hang_up_after_each_answer)
    one_upstream(server.url)
    await run(chorus.call("svc", "/x"))
    assert (await run(chorus.call("svc", "/x"))).attempts == 2
