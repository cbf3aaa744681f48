"""Running sources concurrently under one deadline: ``gather`` and ``Fanout``.

A source is a ``Call`` to a named upstream (sent through that upstream's
policy chain, ``chorus.engine._chain``) or any awaitable (an async ORM query, say),
optionally wrapped by ``source()`` to set ``required``, a timeout or a cache
(``chorus.engine._sources``). Each runs in its own task bounded by the sooner of its
timeout and the fan-out's deadline, so nothing outlives the deadline. A source's failure
is captured as its ``SourceResult``; only cancellation of the caller escapes,
and then every task still running is cancelled and awaited before it does.
When a required source fails, the others are cancelled at once (the answer
is already an error), unless ``fail_fast=False``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from chorus.engine import _tracing as tracing
from chorus.engine._attempt import Attempt, Reply
from chorus.engine._call import DEFAULT, Call, Default
from chorus.engine._chain import chain_for
from chorus.engine._exceptions import UpstreamError
from chorus.engine._expiry import Expiries, by_deadline
from chorus.engine._metrics import upstream_meter
from chorus.engine._results import Outcome, Result, SourceResult, outcome_of
from chorus.engine._settings import get_settings
from chorus.engine._sources import Plan, Source, SourceSpec, await_source, discard, plan_of, source

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from chorus.engine._spans import Spans

__all__ = [
    "Fanout",
    "Source",
    "SourceSpec",
    "check_source_name",
    "gather",
    "plan_sources",
    "source",
]

logger = logging.getLogger("chorus")

_SOURCE_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class Fanout:
    """One run of several sources. ``await fanout.run()``, or ``async for`` each result.

        fanout = chorus.Fanout({"inventory": chorus.call("inventory", "/stock")}, deadline=1.0)
        async with contextlib.aclosing(aiter(fanout)) as landing:
            async for landed in landing:  # each SourceResult as soon as it completes
                ...
        result = fanout.result()          # the whole Result once iteration ends

    ``aclosing`` matters when the loop may end early: it cancels and awaits the
    sources still running, where a bare ``break`` would leave them to the
    garbage collector.
    """

    def __init__(
        self,
        sources: Mapping[str, SourceSpec],
        *,
        deadline: float | Default | None = DEFAULT,
        request: HttpRequest | None = None,
        fail_fast: bool = True,
    ) -> None:
        self._begin(plan_sources(sources), _resolve_deadline(deadline), request, fail_fast)

    @classmethod
    def planned(
        cls,
        plans: dict[str, Plan],
        *,
        deadline: float | None,
        request: HttpRequest | None = None,
        fail_fast: bool = True,
    ) -> Fanout:
        """A fan-out of sources already planned (``plan_sources``), under a resolved ``deadline``.

        For a ``Composite``, which plans its declared calls once per settings, not per request.
        """
        fanout = cls.__new__(cls)
        fanout._begin(plans, deadline, request, fail_fast)
        return fanout

    def _begin(
        self,
        plans: dict[str, Plan],
        deadline: float | None,
        request: HttpRequest | None,
        fail_fast: bool,
    ) -> None:
        self._plans = plans
        self._deadline = deadline
        self._request = request
        self._fail_fast = fail_fast
        self._results: dict[str, SourceResult] = {}
        self._elapsed_ms: float | None = None
        self._started = False
        self._started_at = 0.0
        self._expiries: Expiries | None = None
        # Each call's Attempt, which counts its requests: read when its task ends cancelled.
        self._attempts: dict[str, Attempt] = {}
        # With tracing on (chorus.engine._tracing), the fan-out's span and the hooks.
        self._spans: Spans | None = None
        self._span: Span | None = None

    def result(self) -> Result:
        if self._elapsed_ms is None:
            raise RuntimeError("the fan-out has not finished")
        ordered = {name: self._results[name] for name in self._plans}
        return Result(ordered, self._elapsed_ms)

    async def run(self) -> Result:
        """Run every source to its end and return the whole ``Result``."""
        # One future for "all landed", set by the last result: asyncio.wait would add
        # and remove a callback on every task for the same answer.
        all_landed = asyncio.get_running_loop().create_future()
        remaining = len(self._plans)

        def on_result(_: SourceResult) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0 and not all_landed.done():
                all_landed.set_result(None)

        tasks = self._start(on_result)
        try:
            if tasks:
                await all_landed
        finally:
            await self._wind_down(tasks)
        return self.result()

    async def __aiter__(self) -> AsyncIterator[SourceResult]:
        landed: asyncio.Queue[SourceResult] = asyncio.Queue()
        tasks = self._start(landed.put_nowait)
        try:
            for _ in range(len(tasks)):
                yield await landed.get()
        finally:
            await self._wind_down(tasks)

    def _start(
        self, on_result: Callable[[SourceResult], None] | None
    ) -> dict[asyncio.Task[SourceResult], str]:
        if self._started:
            raise RuntimeError("a Fanout runs once")
        self._started = True
        loop = asyncio.get_running_loop()
        started = self._started_at = loop.time()
        deadline_at = None if self._deadline is None else started + self._deadline
        tasks: dict[asyncio.Task[SourceResult], str] = {}

        def on_done(task: asyncio.Task[SourceResult]) -> None:
            # Runs before any waiter on the task resumes: results are recorded first.
            name = tasks[task]
            plan = self._plans[name]
            if task.cancelled():
                # Perhaps before its first step: a source coroutine it never awaited is
                # closed, so that Python does not warn about it.
                discard(plan.spec)
                attempt = self._attempts.get(name)
                result = SourceResult(
                    name=name,
                    outcome=Outcome.CANCELLED,
                    required=plan.required,
                    ms=(loop.time() - started) * 1000,
                    attempts=0 if attempt is None else attempt.sent,  # cancelled ones too
                )
            elif (error := task.exception()) is not None:
                # _run reports every failure itself; this is the net under it, so that each
                # source always lands exactly once and no caller waits for ever.
                logger.error("source %r failed outside its runner", name, exc_info=error)
                result = SourceResult(
                    name=name, outcome=Outcome.ERROR, required=plan.required, error="internal error"
                )
            else:
                result = task.result()
            self._results[name] = result
            if plan.upstream is not None and (meter := upstream_meter(plan.upstream)) is not None:
                meter.calls[result.outcome].inc(1)
            if on_result is not None:
                on_result(result)
            if self._fail_fast and plan.required and not result.answered:
                for other in tasks:
                    other.cancel()

        expiries = self._expiries = Expiries(loop)
        spans = self._spans = tracing.spans()
        if spans is not None:
            self._span = spans.fanout(self._plans, self._deadline)
        limits: list[tuple[asyncio.Task[SourceResult], float]] = []
        eager = loop.get_task_factory() is None
        for name, plan in self._plans.items():
            until = deadline_at
            if plan.timeout is not None:
                limit = started + plan.timeout
                until = limit if until is None else min(until, limit)
            if spans is None:
                source = self._run(name, plan, started, until)
            else:
                source = self._run_traced(spans, name, plan, started, until)
            # Started eagerly: a source answered at once (a cache hit) is done before the
            # next one starts, with no turn of the loop and no task registry entry, and
            # an upstream call has its request written before the next call begins. Not
            # where a task factory is set (instrumentation): its tasks are its own.
            if eager:
                task = asyncio.Task(source, loop=loop, eager_start=True)
            else:
                task = loop.create_task(source)
            tasks[task] = name
            task.add_done_callback(on_done)
            if until is not None and until > started and not task.done():
                limits.append((task, until))
        expiries.add_all(limits)
        return tasks

    async def _wind_down(self, tasks: Mapping[asyncio.Task[SourceResult], str]) -> None:
        """Cancel and await whatever still runs, so that no task outlives the fan-out."""
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        try:
            if pending:
                await asyncio.wait(pending)
        finally:
            if self._expiries is not None:
                self._expiries.close()
            if self._spans is not None and self._span is not None:
                self._spans.fanout_ended(self._span, self._results)
        self._elapsed_ms = (asyncio.get_running_loop().time() - self._started_at) * 1000

    async def _run_traced(
        self, spans: Spans, name: str, plan: Plan, started: float, until: float | None
    ) -> SourceResult:
        # _run is made here, inside the task: a task cancelled before its first step
        # then leaves no coroutine that was never awaited.
        assert self._span is not None
        upstream = None if plan.upstream is None else plan.upstream.name
        return await spans.source(
            lambda: self._run(name, plan, started, until), name, upstream, self._span
        )

    async def _run(
        self, name: str, plan: Plan, started: float, until: float | None
    ) -> SourceResult:
        loop = asyncio.get_running_loop()
        begin = loop.time()

        def landed(outcome: Outcome, **fields: Any) -> SourceResult:
            return SourceResult(
                name=name,
                outcome=outcome,
                required=plan.required,
                started_ms=(begin - started) * 1000,
                ms=(loop.time() - begin) * 1000,
                **fields,
            )

        spec = plan.spec
        if until is not None and until <= begin:
            discard(spec)
            return landed(Outcome.SKIPPED, attempts=0, error="its time was spent before it started")
        task = asyncio.current_task()
        assert task is not None
        assert self._expiries is not None
        expired = self._expiries.expired
        # A call's requests are counted as they go out (Attempt.sent), so that a call cut
        # short still says how many reached for the upstream; an awaitable says 1 (0 cached).
        attempt: Attempt | None = None
        try:
            if plan.upstream is not None:
                assert isinstance(spec, Call)
                attempt = self._attempts[name] = Attempt(spec, plan.upstream, self._request, until)
                reply = await chain_for(spec, plan.upstream)(attempt)
            else:
                reply = await await_source(spec)
            attempts = reply.attempts if attempt is None else attempt.sent
            if reply.error is not None:
                return _stale(landed, reply, reply.error, name, attempts)
            return landed(
                Outcome.OK,
                data=reply.data,
                raw=reply.raw,
                http_status=reply.status,
                attempts=attempts,
                cached=reply.cached,
                hedged=reply.hedged,
            )
        except asyncio.CancelledError as error:
            if task not in expired or not by_deadline(error):
                raise  # cancelled by someone else too (the caller, fail-fast): not a timeout
            assert until is not None
            return landed(
                Outcome.TIMEOUT,
                attempts=1 if attempt is None else attempt.sent,
                # The limit it was given, not what was left of it when its task first ran.
                error=f"no answer within {(until - started) * 1000:.0f} ms",
            )
        except Exception as error:
            fields = _failure(error, name)
            if attempt is not None:
                fields["attempts"] = attempt.sent
            return landed(outcome_of(error), **fields)
        finally:
            if task in expired:
                # Withdraw the time limit's cancel request, also when the source had just
                # finished as it fired: otherwise the task would end cancelled, result lost.
                task.uncancel()


def check_source_name(name: str) -> None:
    if not _SOURCE_NAME.match(name):
        raise ValueError(f"source name {name!r} must be 1-64 letters, digits, '-' or '_'")


def plan_sources(sources: Mapping[str, SourceSpec]) -> dict[str, Plan]:
    """Each source's ``Plan``: its name checked, a call's upstream looked up in settings."""
    for name in sources:
        check_source_name(name)
    upstream = get_settings().upstream
    return {name: plan_of(spec, upstream) for name, spec in sources.items()}


def _resolve_deadline(deadline: float | Default | None) -> float | None:
    return get_settings().default_deadline if isinstance(deadline, Default) else deadline


def _failure(error: Exception, name: str) -> dict[str, Any]:
    """A failed source's fields: chorus's own words, never an exception's text."""
    if isinstance(error, UpstreamError):
        return {"http_status": error.status, "attempts": error.attempts, "error": error.message}
    if isinstance(error, TimeoutError):
        return {"error": "the source timed out"}  # its own time limit, not chorus's
    # An awaitable's own exception text may hold SQL or secrets: log it, report its type.
    logger.warning("source %r failed", name, exc_info=error)
    return {"error": f"{type(error).__name__} raised"}


def _stale(
    landed: Callable[..., SourceResult], reply: Reply, error: Exception, name: str, attempts: int
) -> SourceResult:
    """A failure answered from the cache: the failure's outcome, the last good data."""
    fields = _failure(error, name)
    fields["attempts"] = attempts
    return landed(
        outcome_of(error), data=reply.data, raw=reply.raw, cached=True, stale=True, **fields
    )


async def gather(
    sources: Mapping[str, SourceSpec] | None = None,
    /,
    *,
    deadline: float | Default | None = DEFAULT,
    request: HttpRequest | None = None,
    fail_fast: bool = True,
    **named: SourceSpec,
) -> Result:
    """Run named sources concurrently under ``deadline`` seconds and collect their results.

        result = await chorus.gather(
            inventory=chorus.call("inventory", "/stock"),
            analytics=chorus.call("analytics", "/summary", required=False),
            deadline=1.0,
            request=request,      # forwards the upstreams' FORWARD_HEADERS
        )
        return result.response()

    ``deadline`` defaults to ``CHORUS["DEFAULT_DEADLINE"]``; ``None`` means none.
    """
    merged = {**(sources or {}), **named}
    return await Fanout(merged, deadline=deadline, request=request, fail_fast=fail_fast).run()
