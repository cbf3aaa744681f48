"""The policies' state machines on a clock the test moves: windows slide, budgets refill."""

import pytest

from chorus.engine._policy_config import BreakerPolicy, RetryPolicy
from chorus.engine.policies._breaker import BreakerState, CircuitBreaker
from chorus.engine.policies._latency import LatencyTracker
from chorus.engine.policies._retry import RetryBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_count_window_forgets_the_oldest_call():
    breaker = CircuitBreaker("svc", BreakerPolicy(failure_rate=0.5, minimum_calls=4, window=4))
    for failed in (True, False, False, False):
        breaker.record(failed)
    assert breaker.failure_rate == 0.25
    breaker.record(True)  # the first failure slides out, this one comes in
    assert breaker.failure_rate == 0.25
    breaker.record(True)
    assert breaker.state is BreakerState.OPEN


def test_a_time_window_forgets_calls_older_than_its_seconds():
    clock = Clock()
    policy = BreakerPolicy(failure_rate=0.5, minimum_calls=4, window_seconds=10.0)
    breaker = CircuitBreaker("svc", policy, clock=clock)
    for _ in range(3):
        breaker.record(True)
    clock.now += 11
    assert breaker.calls == 0
    breaker.record(True)  # 1 call in the window now: under minimum_calls
    assert breaker.state is BreakerState.CLOSED


def test_open_refuses_until_the_cool_down_then_lets_one_probe_through():
    clock = Clock()
    breaker = CircuitBreaker(
        "svc", BreakerPolicy(minimum_calls=1, window=1, cool_down=5.0), clock=clock
    )
    breaker.record(True)
    assert breaker.acquire() == pytest.approx(5.0)
    clock.now += 5
    assert breaker.acquire() is None  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() == 0.0  # refused while the probe is out
    breaker.release()  # the probe's caller went away: its place is free again
    assert breaker.acquire() is None


def test_every_probe_must_succeed_to_close():
    clock = Clock()
    policy = BreakerPolicy(minimum_calls=1, window=1, cool_down=1.0, half_open_calls=2)
    breaker = CircuitBreaker("svc", policy, clock=clock)
    breaker.record(True)
    clock.now += 1
    assert breaker.acquire() is None
    assert breaker.acquire() is None
    breaker.record(False)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record(False)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.calls == 0  # closed with an empty window


def test_a_budget_allows_its_share_of_recent_calls_plus_its_floor():
    clock = Clock()
    budget = RetryBudget(RetryPolicy(budget=0.2, budget_floor=0.1, budget_window=10.0), clock=clock)
    for _ in range(10):
        budget.record_call()
    assert budget.allowed() == pytest.approx(3.0)  # 20% of 10 calls, plus 0.1/s over 10 s
    assert [budget.try_spend() for _ in range(4)] == [True, True, True, False]
    assert budget.refused == 1
    clock.now += 11  # the window moved on: calls and retries forgotten
    assert budget.calls() == 0
    assert budget.retries() == 0
    assert budget.try_spend() is True  # the floor alone


def test_a_transports_resend_is_spent_from_the_budget():
    budget = RetryBudget(RetryPolicy(budget=0.0, budget_floor=0.1, budget_window=10.0))
    budget.spend(1)
    assert budget.try_spend() is False


def test_latency_quantiles_need_enough_samples():
    tracker = LatencyTracker(minimum=20)
    for n in range(19):
        tracker.record(n / 1000)
    assert tracker.quantile(0.95) is None
    tracker.record(0.019)
    assert tracker.quantile(0.5) == pytest.approx(0.010)
    assert tracker.quantile(0.95) == pytest.approx(0.019)


def test_latency_keeps_only_recent_samples():
    tracker = LatencyTracker(size=32, refresh=1, minimum=1)
    for _ in range(32):
        tracker.record(1.0)
    for _ in range(32):
        tracker.record(0.001)
    assert tracker.quantile(0.99) == pytest.approx(0.001)


def test_a_call_sent_before_the_breaker_opened_is_not_taken_for_a_probe():
    clock = Clock()
    breaker = CircuitBreaker(
        "svc", BreakerPolicy(minimum_calls=2, window=2, cool_down=5.0), clock=clock
    )
    breaker.acquire()
    slow_call = breaker.generation  # still in flight while the breaker opens
    breaker.record(True)
    breaker.record(True)
    clock.now += 5
    assert breaker.acquire() is None  # the probe
    breaker.record(False, slow_call)  # the old call succeeds late: no verdict on the probe
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record(True, slow_call)
    assert breaker.state is BreakerState.HALF_OPEN


def test_the_probes_own_verdict_counts():
    clock = Clock()
    breaker = CircuitBreaker(
        "svc", BreakerPolicy(minimum_calls=1, window=1, cool_down=5.0), clock=clock
    )
    breaker.record(True)
    clock.now += 5
    breaker.acquire()
    breaker.record(False, breaker.generation)
    assert breaker.state is BreakerState.CLOSED
