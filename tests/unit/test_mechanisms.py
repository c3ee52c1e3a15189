"""Each cascade mechanism against the figure its source gives (DOMAIN.md §3)."""

import math

import pytest

from sim import mechanisms as m


def test_expected_attempts_formula():
    # (1 − f^(R+1)) / (1 − f): f = 0.5 with 2 retries → 1.75 attempts.
    assert m.expected_attempts(0.5, 2) == pytest.approx(1.75)
    assert m.expected_attempts(0.0, 3) == 1.0
    assert m.expected_attempts(1.0, 3) == 4.0          # "R retries" = R + 1 attempts


def test_layered_retries_multiply():
    # A attempts per layer over D layers: the bottom sees A^D (3 attempts, 3 layers → 27×).
    assert m.layered_amplification(3, 3) == 27


def test_policies_order_their_attempts_under_total_failure():
    r = 3
    none = m.policy_attempts(1.0, "none", m.attempts_allowed("none", r))
    immediate = m.policy_attempts(1.0, "immediate", m.attempts_allowed("immediate", r))
    backoff = m.policy_attempts(1.0, "backoff", m.attempts_allowed("backoff", r))
    budget = m.policy_attempts(1.0, "budget", m.attempts_allowed("budget", r))
    assert none == 1.0 and immediate == 4.0
    assert 1.0 < backoff < immediate          # backoff: later retries fall past the deadline
    assert budget == pytest.approx(1.0)       # budget: a success earns 0.1 token; none succeed


def test_retry_budget_caps_at_ten_percent_of_successes():
    assert m.policy_attempts(0.5, "budget", 4) == pytest.approx(1.05)


def test_cache_miss_amplification():
    # SRE ch. 22: hit ratio 0.9 → 0.5 is 5× backend load.
    assert m.cache_backend_load(100, 0.5) / m.cache_backend_load(100, 0.9) == pytest.approx(5.0)


def test_backlog_drain_time():
    assert m.drain_time_s(3600, service_rate=3.0, arrival_rate=2.0) == 3600
    assert m.drain_time_s(3600, service_rate=2.0, arrival_rate=2.0) == math.inf   # never, no spare capacity
    assert m.drain_time_s(0, 1.0, 2.0) == 0


def test_overload_without_shedding_collapses_goodput():
    # SRE ch. 22: 1,200 QPS against 1,000 capacity — successful rate dips well below 1,000.
    no_shed = m.goodput(1200, 1000, timeout_s=2.0, shedding=False)
    shed = m.goodput(1200, 1000, timeout_s=2.0, shedding=True)
    assert no_shed < 500
    assert shed > 950
    # Below capacity both serve everything.
    assert m.goodput(800, 1000, 2.0, False) == pytest.approx(800, rel=0.01)


def test_late_share_is_small_when_fast_and_large_when_slow():
    assert m.late_share(0.1, 2.0) < 1e-6
    assert m.late_share(30.0, 2.0) > 0.99
    assert m.late_share(0.0, 2.0) == 0.0


def test_pool_repeat_rate():
    assert m.pool_repeat_rate(10_000, 50) < 0.01
    assert m.pool_repeat_rate(60, 50) == pytest.approx(0.316, abs=0.01)
    assert m.pool_repeat_rate(20, 50) > m.pool_repeat_rate(60, 50)


def test_cache_warms_with_fills_only():
    assert m.warm_cache(0.0, fills=0.0, dt=10, items=1000) == 0.0
    assert m.warm_cache(0.0, fills=10.0, dt=10, items=1000) == pytest.approx(0.1)
    assert m.warm_cache(0.99, fills=1e6, dt=10, items=1000) == 1.0


def test_stable_capacity_osdi22():
    # With at most 2 retries load amplifies at most 3×.
    assert m.stable_capacity(6200, 3.0, 1.0) == pytest.approx(6200 / 3)
