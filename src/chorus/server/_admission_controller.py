"""The admission door's controller: its limit and whether its queue stands.

CoDel, twice
------------

What a request suffers in this worker is two waits: at the door, and for the loop
once inside (a reply that came back in time, not read because the loop is busy
with others). Its wait on the upstreams is not the worker's to fix. The door
judges each wait as CoDel judges a router's queue (Nichols and Jacobson,
"Controlling Queue Delay", ACM Queue 10(5), 2012): not by any one sample, which a
burst makes long on a healthy worker, but by the *shortest* over an
``INTERVAL``. A queue that drains now and then (a good queue, absorbing a burst)
has a short minimum; a standing queue (a bad one, only adding delay) does not.

- **The limit follows the loop's standing lag.** Each request the door lets in
  times the loop once (a place handed over: the time the loop took to run the
  waiter; straight in: one turn), and while a queue waits a timer times it ten
  times an interval (how late it fires): requests end in bursts (replies that
  come back together, callers sharing one cached request), so hand-overs alone
  see only the long turns that run the bursts, never the idle moments between
  them. A busy loop at its knee still has short turns within every interval,
  so its minimum lag stays under ``LOOP_TARGET``; past
  the knee every turn runs the backlog of others and the minimum passes it. Over
  the target for two intervals in a row (one alone is a pause: a collection, the
  process preempted), and for each one after, the limit falls in proportion (times
  ``LOOP_TARGET`` / lag, by a tenth to a half: Netflix's Gradient2 bounds its
  cut the same way); under it, and the limit was reached in the interval, it
  rises by a quarter, never outside ``[MIN_IN_FLIGHT, MAX_IN_FLIGHT]``: back
  from a cut by half in 0.4 s. (It rose by its square root, Gradient2's and
  Envoy's headroom, and took 1.8 s to climb back from 60 to 256 after one
  pause: a tenth of a healthy worker's throughput, bench/README.md, "The door".)
  It starts at the floor (from 16 to 256 in under 1.5 s of load): a new
  worker's first burst would otherwise be all inside before the lag could be
  timed. The loop then
  stays just saturated: all the throughput it has, with its queue at the door,
  where it costs nothing and is served in order, and not in the loop, where it
  delays every admitted request's replies.
- **Waits are cut short only while the queue stands** (Facebook's "Fail at
  Scale", Maurer, ACM Queue 13(8), 2015: CoDel at a server's queue). When the
  shortest wait at the door over an interval passed ``QUEUE_TARGET``, a request
  that has waited ``MAX_WAIT`` is answered 503 with ``Retry-After`` instead of
  being served to a client that has likely given up. A burst that drains is
  never cut.

Why not the others the field uses. Netflix's concurrency-limits (Vegas,
Gradient2) and Envoy's adaptive concurrency filter drive the limit by the
ratio of a no-load latency to the observed one. For a fan-out worker that
latency is mostly its upstreams': when an upstream slows from 100 to 300 ms the
ratio reads it as this worker's overload and caps a loop that has nothing to
do; the no-load baseline needs a quiet moment to measure (Envoy pins the
concurrency low for it every minute, a latency spike each time), and with a mix
of routes (a 100 ms dashboard, a 5 ms page) the minimum is the fastest route's,
not each request's. The loop's standing lag is this worker's own delay, the
same for every route, and needs no baseline: a healthy loop has short turns.
And the queue is served first come, first served, not newest first (Fail at
Scale's adaptive LIFO): a client behind a proxy or a load generator does not
give up, so LIFO would starve the oldest waiters into the 503 it exists to
avoid; ``MAX_WAIT`` bounds what the oldest can wait instead.
"""

from __future__ import annotations

import math

from chorus.server._admission_settings import Admission

__all__ = ["Controller"]


class Controller:
    """The door's two judgements, from samples and a clock: no loop, no waiting.

    ``lag`` and ``waited`` record samples, ``reached`` that the limit held a request
    back; ``end_interval`` (when ``due``) moves the limit and decides whether the
    queue stands.
    """

    __slots__ = (
        "adaptive",
        "ceiling",
        "floor",
        "interval",
        "interval_end",
        "lagged",
        "limit",
        "loop_target",
        "max_wait",
        "min_lag",
        "min_wait",
        "queue_target",
        "standing",
        "used",
    )

    def __init__(self, admission: Admission, now: float) -> None:
        assert admission.max_in_flight is not None
        assert admission.min_in_flight is not None
        self.ceiling = admission.max_in_flight
        self.floor = admission.min_in_flight
        self.adaptive = self.floor < self.ceiling
        self.loop_target = admission.loop_target
        self.queue_target = admission.queue_target
        self.max_wait = admission.max_wait
        self.interval = admission.interval
        # An adaptive limit starts low and rises while used (a slow start): a worker's
        # first burst would otherwise all get in before the loop's lag could be timed.
        self.limit = self.floor
        self.standing = False
        self.lagged = False  # the last interval with samples had no short turn either
        self.interval_end = now + self.interval
        self._forget()

    def _forget(self) -> None:
        self.min_lag = math.inf
        self.min_wait = math.inf
        self.used = False

    def lag(self, seconds: float) -> None:
        """The time the loop took to run a request it had just let in."""
        if seconds < self.min_lag:
            self.min_lag = seconds

    def waited(self, seconds: float) -> None:
        """A request's wait at the door, as it was handed its place."""
        if seconds < self.min_wait:
            self.min_wait = seconds

    def reached(self) -> None:
        """The limit held a request back in this interval: it is in use."""
        self.used = True

    def due(self, now: float) -> bool:
        return now >= self.interval_end

    def end_interval(self, now: float, oldest_wait: float | None) -> None:
        """Judge the interval that ended; ``oldest_wait``: the queue's head's wait so far."""
        if self.adaptive and self.min_lag != math.inf:
            lagging = self.min_lag > self.loop_target  # no short turn in a whole interval
            if lagging and self.lagged:  # two in a row: not a lone pause (a GC, a preemption)
                cut = min(0.9, max(0.5, self.loop_target / self.min_lag))
                self.limit = max(self.floor, min(self.limit - 1, int(self.limit * cut)))
            elif not lagging and self.used:
                self.limit = min(self.ceiling, self.limit + max(1, self.limit // 4))
            self.lagged = lagging
        if oldest_wait is None:
            self.standing = False  # the queue is empty: whatever it was, it drained
        else:
            shortest = self.min_wait if self.min_wait != math.inf else oldest_wait
            self.standing = shortest > self.queue_target
        self._forget()
        self.interval_end = max(self.interval_end, now) + self.interval
