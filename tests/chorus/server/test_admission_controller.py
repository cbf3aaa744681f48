"""The admission door's controller, driven through its interface: lags and waits as samples,
time as numbers (no loop, no sockets).
"""

from chorus.server._admission_controller import Controller
from chorus.server._admission_settings import Admission

ADAPTIVE = Admission(
    max_in_flight=256,
    min_in_flight=16,
    loop_target=0.005,
    queue_target=0.5,
    max_wait=5.0,
    interval=0.1,
)


def interval(control, *, lags=(), waits=(), used=True, oldest_wait=None, at=None):
    """One interval's samples, then its end (at ``at``, or when it falls due)."""
    for lag in lags:
        control.lag(lag)
    for wait in waits:
        control.waited(wait)
    if used:
        control.reached()
    now = control.interval_end if at is None else at
    assert control.due(now)
    control.end_interval(now, oldest_wait)


def at_the_ceiling():
    control = Controller(ADAPTIVE, 0.0)
    control.limit = 256
    return control


def lagging(control, lags):
    """Two intervals in a row without a short turn: the second one cuts."""
    interval(control, lags=lags)
    interval(control, lags=lags)


def test_an_adaptive_limit_starts_at_the_floor():
    assert Controller(ADAPTIVE, 0.0).limit == 16


def test_a_lag_standing_over_the_target_for_two_intervals_brings_the_limit_down():
    control = at_the_ceiling()
    lagging(control, [0.008, 0.007, 0.0075])
    assert control.limit == int(256 * 0.005 / 0.007)  # in proportion to the shortest lag


def test_one_lagging_interval_alone_is_a_pause_and_cuts_nothing():
    control = at_the_ceiling()
    interval(control, lags=[0.2])  # a collection, a preemption
    interval(control, lags=[0.001])
    interval(control, lags=[0.2])
    assert control.limit == 256


def test_one_short_turn_in_the_interval_keeps_the_limit_a_busy_loop_is_not_overloaded():
    control = at_the_ceiling()
    lagging(control, [0.08, 0.05, 0.001, 0.09])
    assert control.limit == 256


def test_the_cut_is_at_most_half_the_limit():
    control = at_the_ceiling()
    lagging(control, [1.0])
    assert control.limit == 128


def test_the_cut_is_at_least_a_tenth_of_the_limit():
    control = at_the_ceiling()
    lagging(control, [0.0051])
    assert control.limit == int(256 * 0.9)


def test_a_lag_that_stands_keeps_cutting_every_interval():
    control = at_the_ceiling()
    lagging(control, [1.0])
    interval(control, lags=[1.0])
    assert control.limit == 64


def test_the_limit_never_goes_under_the_floor():
    control = at_the_ceiling()
    for _ in range(20):
        interval(control, lags=[0.5])
    assert control.limit == 16


def test_the_limit_rises_by_a_quarter_while_the_loop_keeps_up_and_it_is_used():
    control = at_the_ceiling()
    lagging(control, [0.5])  # 128
    interval(control, lags=[0.001])
    assert control.limit == 128 + 32
    interval(control, lags=[0.001])
    assert control.limit == 160 + 40


def test_a_limit_nobody_reaches_does_not_rise():
    control = at_the_ceiling()
    lagging(control, [0.5])
    interval(control, lags=[0.001], used=False)
    assert control.limit == 128


def test_the_limit_never_goes_over_the_ceiling():
    control = at_the_ceiling()
    lagging(control, [0.0051])  # 230
    for _ in range(5):
        interval(control, lags=[0.001])
    assert control.limit == 256


def test_an_interval_without_a_sample_leaves_the_limit_alone():
    control = at_the_ceiling()
    lagging(control, [0.5])
    interval(control)
    assert control.limit == 128


def test_a_fixed_limit_never_moves():
    control = Controller(Admission(max_in_flight=32, min_in_flight=32), 0.0)
    lagging(control, [1.0])
    assert control.limit == 32


def test_an_interval_ends_only_when_it_is_due():
    control = Controller(ADAPTIVE, 10.0)
    assert not control.due(10.05)
    assert control.due(10.1)


def test_after_a_quiet_spell_the_next_interval_starts_from_now():
    control = Controller(ADAPTIVE, 0.0)
    interval(control, at=60.0)
    assert control.interval_end == 60.1


def test_the_queue_stands_when_no_wait_in_the_interval_was_under_the_target():
    control = Controller(ADAPTIVE, 0.0)
    interval(control, waits=[0.7, 0.6, 0.9], oldest_wait=0.8)
    assert control.standing


def test_one_short_wait_in_the_interval_is_a_queue_that_drains():
    control = Controller(ADAPTIVE, 0.0)
    interval(control, waits=[0.7, 0.01, 0.9], oldest_wait=0.8)
    assert not control.standing


def test_an_empty_queue_does_not_stand_however_long_its_waits_were():
    control = Controller(ADAPTIVE, 0.0)
    interval(control, waits=[0.7, 0.6], oldest_wait=None)
    assert not control.standing


def test_with_nobody_handed_a_place_the_oldest_wait_judges_the_queue():
    control = Controller(ADAPTIVE, 0.0)
    interval(control, oldest_wait=0.6)
    assert control.standing
    interval(control, oldest_wait=0.2)
    assert not control.standing
