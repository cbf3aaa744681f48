"""Running sources concurrently under one deadline: ``gather`` and ``Fanout``.

A source is a ``Call`` to a named upstream or any awaitable (an async ORM
query, say), optionally wrapped by ``source()`` to set ``required`` and a
timeout. Each runs in its own task bounded by the sooner of its timeout and
the fan-out's deadline, so nothing outlives the deadline. A source's failure
is captured as its ``SourceResult``; only cancellation of the caller escapes,
and then every task still running is cancelled and awaited before it does.
When a required source fails, the others are cancelled at once (the answer
is already an error), unless ``fail_fast=False``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from chorus.client import perform
from chorus.conf import UpstreamConfig, get_settings
from chorus.exceptions import (
    UpstreamBodyError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from chorus.expiry import Expiries
from chorus.results import Outcome, Result, SourceResult
from chorus.upstream import DEFAULT, Call, _Default

__all__ = ["Fanout", "Source", "SourceSpec", "gather", "source"]

logger = logging.getLogger("chorus")

_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """An awaitable (or, in a ``Composite``, a factory of one) with its flags."""

    target: Awaitable[Any] | Callable[..., Any]
    required: bool = True
    timeout: float | None = None


SourceSpec = Call | Source | Awaitable[Any]


def source(
    target: Awaitable[Any] | Callable[..., Any],
    *,
    required: bool = True,
    timeout: float | None = None,
) -> Source:
    """Wrap an awaitable as a source, to mark it optional or give it its own timeout.

    await chorus.gather(orders=chorus.source(count_orders(), required=False, timeout=0.2))
    """
    if timeout is not None and not timeout > 0:
        raise ValueError("timeout must be a positive number of seconds, or None for no limit")
    return Source(target=target, required=required, timeout=timeout)


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
        deadline: float | _Default | None = DEFAULT,
        request: HttpRequest | None = None,
        fail_fast: bool = True,
    ) -> None:
        for name in sources:
            if not _NAME.match(name):
                raise ValueError(f"source name {name!r} must be 1-64 letters, digits, '-' or '_'")
        self._sources = dict(sources)
        configured = get_settings()
        for spec in self._sources.values():
            if isinstance(spec, Call):
                configured.upstream(spec.upstream)  # an unknown name is a bug: say so now
        self._deadline = (
            get_settings().default_deadline if isinstance(deadline, _Default) else deadline
        )
        self._request = request
        self._fail_fast = fail_fast
        self._results: dict[str, SourceResult] = {}
        self._elapsed_ms: float | None = None
        self._started = False
        self._started_at = 0.0
        self._expiries: Expiries | None = None

    def result(self) -> Result:
        if self._elapsed_ms is None:
            raise RuntimeError("the fan-out has not finished")
        ordered = {name: self._results[name] for name in self._sources}
        return Result(ordered, self._elapsed_ms)

    async def run(self) -> Result:
        """Run every source to its end and return the whole ``Result``."""
        # One future for "all landed", set by the last result: asyncio.wait would add
        # and remove a callback on every task for the same answer.
        all_landed = asyncio.get_running_loop().create_future()
        remaining = len(self._sources)

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
            await self._finish(tasks)
        return self.result()

    async def __aiter__(self) -> AsyncIterator[SourceResult]:
        landed: asyncio.Queue[SourceResult] = asyncio.Queue()
        tasks = self._start(landed.put_nowait)
        try:
            for _ in range(len(tasks)):
                yield await landed.get()
        finally:
            await self._finish(tasks)

    def _start(
        self, on_result: Callable[[SourceResult], None] | None
    ) -> dict[asyncio.Task[SourceResult], tuple[str, bool]]:
        if self._started:
            raise RuntimeError("a Fanout runs once")
        self._started = True
        loop = asyncio.get_running_loop()
        started = self._started_at = loop.time()
        deadline_at = None if self._deadline is None else started + self._deadline
        tasks: dict[asyncio.Task[SourceResult], tuple[str, bool]] = {}

        def on_done(task: asyncio.Task[SourceResult]) -> None:
            # Runs before any waiter on the task resumes: results are recorded first.
            name, required = tasks[task]
            if task.cancelled():
                # Perhaps before its first step: a source coroutine it never awaited is
                # closed, so that Python does not warn about it.
                _discard(self._sources[name])
                result = SourceResult(
                    name=name,
                    outcome=Outcome.CANCELLED,
                    required=required,
                    ms=(loop.time() - started) * 1000,
                    attempts=0,
                )
            elif (error := task.exception()) is not None:
                # _run reports every failure itself; this is the net under it, so that each
                # source always lands exactly once and no caller waits for ever.
                logger.error("source %r failed outside its runner", name, exc_info=error)
                result = SourceResult(
                    name=name, outcome=Outcome.ERROR, required=required, error="internal error"
                )
            else:
                result = task.result()
            self._results[name] = result
            if on_result is not None:
                on_result(result)
            if self._fail_fast and required and not result.ok:
                for other in tasks:
                    other.cancel()

        settings = get_settings()
        expiries = self._expiries = Expiries(loop)
        for name, spec in self._sources.items():
            upstream = settings.upstream(spec.upstream) if isinstance(spec, Call) else None
            timeout = _timeout_of(spec, upstream)
            until = deadline_at
            if timeout is not None:
                until = started + timeout if until is None else min(until, started + timeout)
            task = loop.create_task(self._run(name, spec, upstream, started, until))
            tasks[task] = (name, _is_required(spec))
            task.add_done_callback(on_done)
            if until is not None and until > started:
                expiries.add(task, until)
        return tasks

    async def _finish(self, tasks: dict[asyncio.Task[SourceResult], tuple[str, bool]]) -> None:
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
        self._elapsed_ms = (asyncio.get_running_loop().time() - self._started_at) * 1000

    async def _run(
        self,
        name: str,
        spec: SourceSpec,
        upstream: UpstreamConfig | None,
        started: float,
        until: float | None,
    ) -> SourceResult:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        required = _is_required(spec)

        def finish(outcome: Outcome, **fields: Any) -> SourceResult:
            return SourceResult(
                name=name,
                outcome=outcome,
                required=required,
                started_ms=(begin - started) * 1000,
                ms=(loop.time() - begin) * 1000,
                **fields,
            )

        if until is not None and until <= begin:
            _discard(spec)
            return finish(Outcome.SKIPPED, attempts=0, error="its time was spent before it started")
        task = asyncio.current_task()
        assert task is not None
        assert self._expiries is not None
        expired = self._expiries.expired
        try:
            if upstream is not None:
                assert isinstance(spec, Call)
                status, data, raw = await perform(spec, request=self._request, upstream=upstream)
                return finish(Outcome.OK, data=data, http_status=status, raw=raw)
            target = spec.target if isinstance(spec, Source) else spec
            return finish(Outcome.OK, data=await target)  # type: ignore[misc]
        except asyncio.CancelledError:
            if task not in expired or task.cancelling() > 1:
                raise  # cancelled by someone else too (the caller, fail-fast): not a timeout
            assert until is not None
            return finish(
                Outcome.TIMEOUT, error=f"no answer within {(until - begin) * 1000:.0f} ms"
            )
        except (TimeoutError, UpstreamTimeoutError) as exc:
            # The source's own time limit, or the transport's connect timeout, not chorus's.
            message = exc.message if isinstance(exc, UpstreamTimeoutError) else None
            return finish(Outcome.TIMEOUT, error=message or "the source timed out")
        except UpstreamStatusError as exc:
            return finish(Outcome.BAD_STATUS, http_status=exc.status, error=exc.message)
        except UpstreamBodyError as exc:
            return finish(Outcome.BAD_BODY, http_status=exc.status, error=exc.message)
        except UpstreamError as exc:
            return finish(Outcome.ERROR, error=exc.message)
        except Exception as exc:
            # An awaitable's own exception text may hold SQL or secrets: log it, report its type.
            logger.warning("source %r failed", name, exc_info=True)
            return finish(Outcome.ERROR, error=f"{type(exc).__name__} raised")
        finally:
            if task in expired:
                # Withdraw the time limit's cancel request, also when the source had just
                # finished as it fired: otherwise the task would end cancelled, result lost.
                task.uncancel()


def _timeout_of(spec: SourceSpec, upstream: UpstreamConfig | None) -> float | None:
    if isinstance(spec, Call):
        assert upstream is not None
        return spec.resolved_timeout(upstream)
    if isinstance(spec, Source):
        return spec.timeout
    return None


def _is_required(spec: SourceSpec) -> bool:
    return spec.required if isinstance(spec, Call | Source) else True


def _discard(spec: SourceSpec) -> None:
    """Close a coroutine that will never run, so Python does not warn it was never awaited."""
    target = spec.target if isinstance(spec, Source) else spec
    if inspect.iscoroutine(target):
        target.close()


async def gather(
    sources: Mapping[str, SourceSpec] | None = None,
    /,
    *,
    deadline: float | _Default | None = DEFAULT,
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
