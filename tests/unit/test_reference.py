"""The fast rate model against the request-level reference simulator (issue 6).

On the default architecture at 20 % of its traffic, login success, upload success and feed
personalisation must agree within 5 percentage points in every simulated minute, on a healthy
run, a power cut whose retry storm outlives the restore, a retry storm ended by shedding, and
the same storm with backoff retries (which end it on their own, in both models).

20 %, not less: a minute then holds ~240 logins and ~60 uploads, so one request is < 2 pp and
sampling noise stays well inside 5 pp (at 5 % one upload was 6.7 pp).

One allowance, the same for every minute, and no minute named by hand — TIMING: the fast model
places a change (halls go dark, capacity returns, shedding starts) to within one 10-s step and
books a request's outcome in the step it arrives, while a reference request that starts before
a change retries into it for up to its deadline (4 × the client's 5-s timeout) and is booked in
the minute it started. So the reference may match the fast model shifted earlier by up to
LEAD_S or later by up to LAG_S (`fast_band`), within 5 pp. Away from changes the band is a
point, so this is the plain 5-pp test; the minutes that need the shift must stay few
(MAX_SHIFTED per metric and run) and each is listed by the failure message if the band fails.
"""

from __future__ import annotations

import math
import random

import pytest

import sim.mechanisms as m
from sim import PRESETS, Scenario, run
from sim.reference import COMPARED, compare, fast_band, fast_per_minute, run_reference

RATE_SCALE = 0.2
BOUND = 0.05
LEAD_S = m.DEADLINE_TIMEOUTS * 5.0 + 10.0      # a login's deadline plus one step
LAG_S = 10.0                                  # one step
MAX_SHIFTED = 3                               # minutes per metric and run off by > 5 pp unshifted
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
    # Eight retries at 55 % load: failures come back fast (full queues reject at once), so far more
    # than 4 attempts fit the deadline and the storm holds in both models (the fast model capped
    # attempts at 4 whatever max_retries said, and recovered while the reference stayed down).
    "retry_storm_8_retries": STORM.replace(shed_load_min=None, max_retries=8, load=0.55),
}


def _check(name: str, swing: int = 0) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every minute within the band; `swing`: minutes per metric that may fall outside it while one
    of the two models is mid-change (between 5 % and 95 %) — a recovery placed a minute apart."""
    s = SCENARIOS[name]
    tl = run(s)
    fast = fast_per_minute(tl)
    lo, hi = fast_band(tl, LEAD_S, LAG_S)
    ref = run_reference(s, rate_scale=RATE_SCALE)
    diff = compare(fast, ref)
    failures = []
    for metric in COMPARED:
        shifted, swings = [], 0
        for minute, d in enumerate(diff[metric]):
            assert not math.isnan(d), f"{name}: no {metric} request in minute {minute}"
            r = ref[metric][minute]
            if d > BOUND:
                shifted.append(minute)
            if not lo[metric][minute] - BOUND <= r <= hi[metric][minute] + BOUND:
                moving = any(0.05 < v < 0.95 for v in (r, fast[metric][minute]))
                if moving and swings < swing:
                    swings += 1
                    continue
                failures.append(f"{metric} minute {minute}: fast {fast[metric][minute]:.3f} "
                                f"(shifted {lo[metric][minute]:.3f}–{hi[metric][minute]:.3f}) reference {r:.3f}")
        if len(shifted) > MAX_SHIFTED:
            failures.append(f"{metric}: off by > 5 pp unshifted in minutes {shifted}")
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


def test_eight_retries_keep_the_storm_in_both_models():
    # The feed's personalisation comes back about a minute later in the fast model (its retries into
    # the booting feature store): the two minutes of that swing may differ.
    fast, ref = _check("retry_storm_8_retries", swing=2)
    assert max(ref["login_success"][-10:]) < 0.1 and max(fast["login_success"][-10:]) < 0.1


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
