"""gather and Fanout over plain awaitables: concurrency, deadlines, failures, cancellation."""

import asyncio

import pytest

import chorus
from chorus import Outcome


async def value_after(seconds, value="v"):
    await asyncio.sleep(seconds)
    return value


async def boom():
    await asyncio.sleep(0)
    raise RuntimeError("password=hunter2")


async def test_sources_run_concurrently():
    result = await chorus.gather(
        a=value_after(0.1, 1), b=value_after(0.1, 2), c=value_after(0.1, 3), deadline=2
    )
    assert result.data == {"a": 1, "b": 2, "c": 3}
    assert result.complete
    summed = sum(s.ms for s in result.sources.values())
    assert result.elapsed_ms < summed * 0.6


async def test_each_source_takes_its_first_step_in_the_turn_the_fanout_starts():
    # Eager tasks: an answer at hand (a cache hit) needs no turn of the loop, and an upstream
    # call has its request written before the next source starts.
    later: list[bool] = []
    seen: list[bool] = []

    async def notes_the_turn():
        seen.append(bool(later))
        return 1

    asyncio.get_running_loop().call_soon(later.append, True)
    result = await chorus.gather(a=notes_the_turn(), b=notes_the_turn(), deadline=1)
    assert [source.data for source in result.sources.values()] == [1, 1]
    assert seen == [False, False]  # both ran before the callback queued ahead of the fan-out


async def test_a_task_factory_set_on_the_loop_makes_the_sources_tasks():
    loop = asyncio.get_running_loop()
    made: list[str] = []

    def factory(loop, coro, **options):
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **options)

    loop.set_task_factory(factory)
    try:
        result = await chorus.gather(a=value_after(0), b=value_after(0), deadline=1)
    finally:
        loop.set_task_factory(None)
    assert [source.data for source in result.sources.values()] == ["v", "v"]
    assert made.count("Fanout._run") == 2


async def test_results_keep_the_declared_order():
    result = await chorus.gather({"slow": value_after(0.05), "fast": value_after(0)}, deadline=1)
    assert list(result.sources) == ["slow", "fast"]


async def test_failing_optional_source_leaves_the_rest():
    result = await chorus.gather(
        a=value_after(0, 1), b=chorus.source(boom(), required=False), deadline=1
    )
    assert result.status_code == 200
    assert not result.complete
    failed = result.sources["b"]
    assert failed.outcome is Outcome.ERROR
    assert failed.error == "RuntimeError raised"  # never the exception's own text


async def test_source_timeout_reports_timeout_with_its_budget():
    result = await chorus.gather(
        slow=chorus.source(value_after(5), timeout=0.05, required=False), deadline=2
    )
    slow = result.sources["slow"]
    assert slow.outcome is Outcome.TIMEOUT
    assert slow.error == "no answer within 50 ms"
    assert result.elapsed_ms < 1000


async def test_deadline_cuts_everything_still_running():
    result = await chorus.gather(
        fast=value_after(0, 1),
        slow=chorus.source(value_after(5), required=False),
        deadline=0.1,
    )
    assert result.sources["fast"].ok
    assert result.sources["slow"].outcome is Outcome.TIMEOUT
    assert result.elapsed_ms < 1000


async def test_required_timeout_makes_504():
    result = await chorus.gather(slow=value_after(5), deadline=0.05)
    assert result.status_code == 504


async def test_spent_deadline_skips_sources_without_warnings():
    result = await chorus.gather(a=value_after(0), deadline=1e-9)
    assert result.sources["a"].outcome is Outcome.SKIPPED
    assert result.sources["a"].attempts == 0


async def test_required_failure_cancels_the_others_at_once():
    result = await chorus.gather(bad=boom(), slow=value_after(5), deadline=10)
    assert result.sources["bad"].outcome is Outcome.ERROR
    assert result.sources["slow"].outcome is Outcome.CANCELLED
    assert result.status_code == 502
    assert result.elapsed_ms < 1000


async def test_fail_fast_can_be_turned_off():
    result = await chorus.gather(
        bad=boom(), other=value_after(0.01, 7), deadline=1, fail_fast=False
    )
    assert result.sources["other"].data == 7


async def test_cancelling_the_caller_cancels_and_awaits_every_source():
    finished = []

    async def tracked():
        try:
            await asyncio.sleep(5)
        finally:
            finished.append("cleaned up")

    task = asyncio.create_task(chorus.gather(a=tracked(), b=tracked(), deadline=10))
    await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["cleaned up", "cleaned up"]


async def test_fanout_yields_each_result_as_it_lands():
    fanout = chorus.Fanout(
        {"slow": value_after(0.05, "s"), "fast": value_after(0, "f")}, deadline=1
    )
    order = [landed.name async for landed in fanout]
    assert order == ["fast", "slow"]
    assert fanout.result().data == {"slow": "s", "fast": "f"}


async def test_started_ms_shows_when_each_source_began():
    result = await chorus.gather(a=value_after(0.01), deadline=1)
    assert 0 <= result.sources["a"].started_ms < result.sources["a"].ms


def test_source_names_must_be_header_safe():
    with pytest.raises(ValueError, match="source name"):
        chorus.Fanout({"bad name": chorus.call("x", "/")})


def test_an_unknown_upstream_is_refused_before_anything_runs(settings):
    settings.CHORUS = {"UPSTREAMS": {"known": {"BASE_URL": "http://127.0.0.1:9/k"}}}
    with pytest.raises(chorus.UnknownUpstreamError, match="'nope'"):
        chorus.Fanout({"x": chorus.call("nope", "/")})


async def test_a_sources_own_timeout_error_is_reported_without_a_budget():
    async def driver_timeout():
        raise TimeoutError

    result = await chorus.gather(db=chorus.source(driver_timeout(), required=False), deadline=None)
    assert result.sources["db"].outcome is Outcome.TIMEOUT
    assert result.sources["db"].error == "the source timed out"
