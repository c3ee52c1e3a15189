"""The fast rate model against the request-level reference simulator (issue 6).

On the default architecture at 20 % of its traffic, login success, upload success and feed
personalisation must agree within 5 percentage points in every simulated minute, on a healthy
run, a power cut whose retry storm outlives the restore, a retry storm ended by shedding, and
the same storm with backoff retries (which end it on their own, in both models).

20 %, not less: a minute then holds ~240 logins and ~60 uploads, so one request is < 2 pp and
sampling noise stays well inside 5 pp (at 5 % one upload was 6.7 pp).

One exception, derived from the fast model's own timeline rather than named by hand:
- TRANSITIONS: in a minute where the fast model's metric swings by more than SWING between
  steps (the halls go dark, capacity returns, shedding starts), the fast model can only place
  the swing to within one 10-s step, and a reference request that starts up to a deadline
  (20 s) before the swing retries into it (the reference books a request in the minute it starts) — so such a minute may differ by one step's share of
  the minute (1/6) on top of the 5 pp. Transition minutes must stay few (MAX_TRANSITIONS).
"""

from __future__ import annotations

import math
import random

import pytest

import sim.mechanisms as m
from sim import PRESETS, Scenario, run
from sim.reference import COMPARED, compare, fast_per_minute, run_reference

RATE_SCALE = 0.2
BOUND = 0.05
SWING = 0.3
MAX_TRANSITIONS = 4             # per metric and run
STORM = PRESETS["retry_storm"].scenario.replace(duration_min=40, power_cut_min=5, power_restored_min=15)

SCENARIOS = {
    "healthy": Scenario(duration_min=10, power_cut_min=None, power_restored_min=None),
    # As reported (generators fail, 5-min UPS, immediate retries), short: halls go dark at 10:00
    # and 10:53; power returns at 15 but logins stay down (retries sustain the overload).
    "cut_and_restore": Scenario(duration_min=30, power_cut_min=5, power_restored_min=15, shed_load_min=None),
    # The retry-storm preset, short: a 0-min UPS drops the halls at the cut, generators restore
    # power, the storm persists after utility power returns and after every server has booted
    # (by 30:10 at the latest), and shedding at minute 32 ends it.
    "retry_storm_then_shedding": STORM.replace(shed_load_min=32),
    # The same storm with capped exponential backoff and full jitter: about 2 attempts per call
    # fit the deadline, under what the auth service can carry, so it ends without shedding.
    "retry_storm_backoff": STORM.replace(shed_load_min=None, retry_policy="backoff"),
}


def transition_minutes(timeline, metric: str, deadline_s: float) -> set[int]:
    """Minutes in which the fast model's per-step metric swings by more than SWING: over the
    steps from the one before the minute to one request deadline after it (a request that
    starts in the minute can retry until then)."""
    minutes = math.ceil(timeline.scenario.duration_min)
    step_s = timeline.scenario.step_s
    out = set()
    for k in range(minutes):
        vals = [v for t, v in zip(timeline.t_s, timeline.metrics[metric])
                if 60.0 * k - step_s <= t < 60.0 * (k + 1) + deadline_s and not math.isnan(v)]
        if vals and max(vals) - min(vals) > SWING:
            out.add(k)
    return out


def _check(name: str) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    s = SCENARIOS[name]
    tl = run(s)
    fast = fast_per_minute(tl)
    ref = run_reference(s, rate_scale=RATE_SCALE)
    diff = compare(fast, ref)
    step_share = s.step_s / 60.0
    deadline = m.DEADLINE_TIMEOUTS * 5.0                # the client's 5-s timeout
    failures = []
    for metric in COMPARED:
        swings = transition_minutes(tl, metric, deadline)
        assert len(swings) <= MAX_TRANSITIONS, f"{name}: {metric} swings in minutes {sorted(swings)}"
        for minute, d in enumerate(diff[metric]):
            assert not math.isnan(d), f"{name}: no {metric} request in minute {minute}"
            allowed = BOUND + (step_share if minute in swings else 0.0)
            if d > allowed:
                failures.append(f"{metric} minute {minute}: fast {fast[metric][minute]:.3f} "
                                f"reference {ref[metric][minute]:.3f} (allowed {allowed:.3f})")
    assert not failures, f"{name}: " + "; ".join(failures)
    return fast, ref


def test_healthy_agrees_and_reduced_rate_causes_no_failures():
    _, ref = _check("healthy")
    for metric in COMPARED:
        assert min(ref[metric]) == 1.0, metric


@pytest.mark.slow
def test_cut_and_restore_agrees_and_stays_down_after_restore():
    _, ref = _check("cut_and_restore")
    assert max(ref["login_success"][16:]) < 0.05          # power is back, logins are not


@pytest.mark.slow
def test_retry_storm_agrees_and_shedding_ends_it():
    _, ref = _check("retry_storm_then_shedding")
    assert max(ref["login_success"][10:31]) < 0.1          # the storm outlives the trigger …
    assert min(ref["login_success"][33:]) > 0.95           # … until shedding ends it


@pytest.mark.slow
def test_backoff_ends_the_storm_in_both_models():
    fast, ref = _check("retry_storm_backoff")
    for out in (fast, ref):
        assert max(out["login_success"][6:10]) < 0.1      # the same storm while the halls are dark …
        assert min(out["login_success"][28:]) > 0.95       # … ends without shedding


def test_backoff_attempt_count_matches_the_reference_rule():
    """The fast model's fractional attempt count (a convolution over the jitter) is what the
    reference's retry loop does: wait U(0, timeout·backoff_wait_max(k)), start no attempt after
    the deadline. Monte Carlo of that rule, every attempt failing after fail_timeouts."""
    rng = random.Random(7)
    for fail in (0.0, 0.5, 1.0):
        n, total = 40_000, 0
        for _ in range(n):
            t, a = 0.0, 1
            while a < 4:
                t += fail + rng.uniform(0.0, m.backoff_wait_max(a))
                if t >= m.DEADLINE_TIMEOUTS:
                    break
                a += 1
            total += a
        assert m.attempts_allowed("backoff", 3, fail) == pytest.approx(total / n, abs=0.02), fail
    assert 1.8 < m.attempts_allowed("backoff", 3) < 2.3 < m.attempts_allowed("immediate", 3)


def test_reference_is_deterministic_and_reports_per_minute():
    s = Scenario(duration_min=3, power_cut_min=1, power_restored_min=2, ups_minutes=0.0)
    a = run_reference(s, rate_scale=0.02)
    b = run_reference(s, rate_scale=0.02)
    assert a.keys() == b.keys()
    for k in a:
        assert all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a[k], b[k], strict=True)), k
    assert len(a["login_success"]) == 3 and a["minute"] == [0.0, 1.0, 2.0]
    fast = fast_per_minute(run(s))
    assert len(fast["login_success"]) == 3


def test_rate_scale_is_validated():
    with pytest.raises(ValueError):
        run_reference(SCENARIOS["healthy"], rate_scale=0.0)
