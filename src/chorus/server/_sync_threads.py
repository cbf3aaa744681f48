"""Requests' thread-sensitive sync code (the ORM) on a bounded set of threads, the rest waiting on the loop.

Django's ``ASGIHandler`` runs each request in a ``ThreadSensitiveContext`` of
its own, and asgiref gives each such context a new executor thread at its
first thread-sensitive hop (``sync_to_async``, every async ORM method). A
burst of 1,000 requests that each make one query therefore started 151-236
threads at once, all but the pool's 20 parked in ``psycopg_pool.getconn``
(issue 25): memory, a GIL contended by threads with nothing to do, and waits
that no cancellation reaches.

Here each request's context is handed a ``RequestExecutor`` instead. It holds
no thread until its request first needs one, then borrows one of ``size``
single-thread executors (``SyncThreads``); when none is free, the request's
work waits in a queue as a future its coroutine awaits on the event loop,
and no thread exists for it. The thread is the request's alone until the
request ends, or until its response starts streaming (an SSE stream may stay
open for hours, and must not keep a thread it no longer uses): every hop of
one request still runs in one thread, in order, as Django expects, and the
connections that thread opened are closed there before it is lent again.
Threads are made on demand and kept: a steady worker stops paying for a new
thread per request.

``size`` is the largest connection pool among ``DATABASES`` (``OPTIONS["pool"]``'s
``max_size``), else ``DEFAULT_SIZE``: more threads than connections would only
wait in the pool's ``getconn``, fewer would leave connections unused.

Why here and not an ``asyncio.Semaphore`` around ``sync_to_async``: the hops
are made inside Django (``QuerySet.acount``, ``aget_user``) and third-party
code, where no gate can be put without patching them, and a gate held per hop
would still leave each request's own thread alive until its context exits.
Why not a gate per request in the handler: most requests never touch a thread
(a fan-out waits on upstreams), and a gate at the door would bound them too.
The executor is asgiref's own seam: ``SyncToAsync`` submits a context's work
to whatever executor the context maps to. The mapping is set by hand, not
with ``ThreadSensitiveContext(executor=...)``, which makes every thread-sensitive
call of a task that outlives its request raise; a task like that gets a
thread of its own, as it always did.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.conf import settings

__all__ = [
    "DEFAULT_SIZE",
    "RequestExecutor",
    "SyncThreads",
    "lend_threads",
    "release_thread",
    "request_executor",
    "sync_threads",
]

DEFAULT_SIZE = 20


class SyncThreads:
    """``size`` single-thread executors, lent to one request at a time; borrowers queue."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[ThreadPoolExecutor] = []
        self._made = 0
        self._waiting: deque[RequestExecutor] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def borrow(self, borrower: RequestExecutor) -> ThreadPoolExecutor | None:
        """An executor for ``borrower``, or ``None``: it is queued and handed one later."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if self._made < self.size:
                self._made += 1
                return ThreadPoolExecutor(max_workers=1, thread_name_prefix="chorus-sync")
            self._waiting.append(borrower)
            return None

    def give_back(self, thread: ThreadPoolExecutor) -> None:
        with self._lock:
            borrower = self._waiting.popleft() if self._waiting else None
            if borrower is None:
                self._idle.append(thread)
                return
        borrower.lent(thread)

    def leave_queue(self, borrower: RequestExecutor) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._waiting.remove(borrower)


class RequestExecutor(Executor):
    """One request's thread-sensitive executor: a borrowed thread, lent back at ``release``."""

    def __init__(self, threads: SyncThreads) -> None:
        self._threads = threads
        # Reentrant: a future already done runs its callbacks (which take it) at once.
        self._lock = threading.RLock()
        self._thread: ThreadPoolExecutor | None = None
        self._queued = False
        self._backlog: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._running = 0
        self._releasing = False

    @property
    def holds_thread(self) -> bool:
        """Whether sync code ran for the request since it last gave its thread back."""
        return self._thread is not None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        work = functools.partial(fn, *args, **kwargs)
        with self._lock:
            self._releasing = False
            self._running += 1
            if self._thread is not None:
                return self._run(self._thread, work)
            future: Future[Any] = Future()
            self._backlog.append((work, future))
            ask = not self._queued
            self._queued = True
        if ask and (thread := self._threads.borrow(self)) is not None:
            self.lent(thread)
        return future

    def lent(self, thread: ThreadPoolExecutor) -> None:
        """``thread`` is this request's now: run what waited for it, in order."""
        with self._lock:
            self._thread, self._queued = thread, False
            backlog, self._backlog = self._backlog, []
            for work, future in backlog:
                if future.set_running_or_notify_cancel():
                    self._run(thread, work).add_done_callback(functools.partial(_copy, future))
                else:  # its caller went away while it waited
                    self._finished(None)
        self._maybe_give_back()

    def release(self) -> None:
        """Lend the thread back once nothing of the request's runs in it (a cancelled
        request's query still may); leave the queue if none was lent yet."""
        with self._lock:
            self._releasing = True
            backlog, self._backlog = self._backlog, []
            self._running -= len(backlog)
            queued, self._queued = self._queued, False
        if queued:
            self._threads.leave_queue(self)
        for _, future in backlog:
            future.cancel()
        self._maybe_give_back()

    def _run(self, thread: ThreadPoolExecutor, work: Callable[[], Any]) -> Future[Any]:
        running = thread.submit(work)
        running.add_done_callback(self._finished)
        return running

    def _finished(self, _: Future[Any] | None) -> None:
        with self._lock:
            self._running -= 1
        self._maybe_give_back()

    def _maybe_give_back(self) -> None:
        with self._lock:
            thread = self._thread
            if thread is None or not self._releasing or self._running > 0:
                return
            self._thread = None
        self._threads.give_back(thread)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.release()  # the threads are the process's, not the request's


def _copy(target: Future[Any], source: Future[Any]) -> None:
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


@functools.cache
def sync_threads() -> SyncThreads:
    """The process's threads for requests' sync code, sized from ``DATABASES``' pools."""
    sizes = [
        pool.get("max_size") or pool.get("min_size") or DEFAULT_SIZE
        for database in settings.DATABASES.values()
        if isinstance(pool := database.get("OPTIONS", {}).get("pool"), dict)
    ]
    return SyncThreads(max(sizes, default=DEFAULT_SIZE))


def request_executor() -> RequestExecutor | None:
    """The running request's executor, if it runs in ``lend_threads``."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    executor = SyncToAsync.context_to_thread_executor.get(context) if context else None
    return executor if isinstance(executor, RequestExecutor) else None


def release_thread() -> None:
    """Lend the running request's thread back before its response streams (its connections
    closed first: ``close_connections_if_used``); a later hop borrows one again."""
    executor = request_executor()
    if executor is not None:
        executor.release()


class lend_threads:  # lower case: used as a function, ``async with lend_threads():``
    """A request's ``ThreadSensitiveContext``, its sync code run on ``sync_threads()``.

    A class rather than an ``asynccontextmanager``: it is entered once per request,
    and the generator's machinery cost more than the work it wraps.
    """

    __slots__ = ("_context", "_executor")

    def __init__(self) -> None:
        self._executor = RequestExecutor(sync_threads())
        self._context = ThreadSensitiveContext()

    async def __aenter__(self) -> RequestExecutor:
        await self._context.__aenter__()  # type: ignore[no-untyped-call]
        SyncToAsync.context_to_thread_executor[self._context] = self._executor
        return self._executor

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            # Unmapped before asgiref's exit, which would join a thread of its own.
            SyncToAsync.context_to_thread_executor.pop(self._context, None)
            self._executor.release()
        finally:
            await self._context.__aexit__(exc_type, exc, traceback)  # type: ignore[no-untyped-call]
