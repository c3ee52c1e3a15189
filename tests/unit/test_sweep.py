"""Sweeps (sim.sweep): deterministic, progress reported, compact window, and the metastability
threshold visible in a sweep of retries and of load."""

from __future__ import annotations

import pytest

import sim
from sim.links import SWEEP_DEFAULTS, sweep_from_params, sweep_to_params
from sim.sweep import (KNOBS, compact, point_scenario, recovery_share, seeds_from, sweep, threshold,
                       values_between)
from viz.whatif import SWEEP_OUTCOMES, sweep_chart, sweep_frame

STORM = compact(sim.PRESETS["retry_storm"].scenario)


def test_compact_shifts_every_scheduled_time_and_shortens():
    s = sim.PRESETS["as_reported"].scenario.replace(power_switch=((100.0, False),))
    c = compact(s, lead_min=2, window_min=90)
    assert c.power_cut_min == 2
    assert c.power_restored_min == s.power_restored_min - 13
    assert c.shed_load_min == s.shed_load_min - 13
    assert c.power_switch == ((87.0, False),)
    assert c.duration_min == 92
    assert compact(s, window_min=None).duration_min == s.duration_min - 13
    no_cut = sim.Scenario(power_cut_min=None, power_restored_min=None)
    assert compact(no_cut, window_min=30).duration_min == 30


def test_values_between():
    assert values_between("max_retries", 0, 5, 6) == [0, 1, 2, 3, 4, 5]
    assert values_between("max_retries", 0, 2, 10) == [0, 1, 2]      # whole numbers, no duplicates
    assert values_between("load", 0.5, 1.5, 3) == [0.5, 1.0, 1.5]
    assert values_between("load", -1, 99, 2) == [0.1, 3.0]            # clamped to the allowed range
    assert seeds_from(7, 3) == [7, 8, 9]
    assert isinstance(point_scenario(STORM, "max_retries", 2.0, 1).max_retries, int)


def test_sweep_is_deterministic_and_reports_progress():
    calls = []
    a = sweep(STORM, "max_retries", [0, 4], [1, 2], progress=lambda d, t: calls.append((d, t)))
    b = sweep(STORM, "max_retries", [0, 4], [1, 2])
    assert a.points == b.points
    assert [(p.value, p.seed) for p in a.points] == [(0, 1), (0, 2), (4, 1), (4, 2)]
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_pool_gives_the_same_results():
    serial = sweep(STORM, "load", [0.8, 1.4], [3])
    pooled = sweep(STORM, "load", [0.8, 1.4], [3], workers=2)
    assert pooled.points == serial.points


def test_retry_sweep_shows_the_metastability_threshold():
    """Immediate retries: with few retries the app recovers after the blip; with many it never does."""
    r = sweep(STORM, "max_retries", values_between("max_retries", 0, 5, 6), [1, 2])
    share = recovery_share(r)
    assert share[0] == 1.0 and share[5] == 0.0
    tip = threshold(r)
    assert tip is not None and 0 <= tip[0] < tip[1] <= 5
    # below the tipping point the login outage is short; above it lasts to the end of the window
    by = r.by_value()
    assert max(o.login_outage_min for o in by[tip[0]]) < min(o.login_outage_min for o in by[tip[1]])


def test_load_sweep_with_backoff_tips_over():
    """Backoff recovers at normal traffic but not at 1.5× — the same trigger, more load."""
    r = sweep(STORM.replace(retry_policy="backoff"), "load", [0.5, 1.0, 1.5], [1, 2])
    share = recovery_share(r)
    assert share[0.5] == 1.0 and share[1.0] == 1.0 and share[1.5] == 0.0
    assert threshold(r) == (1.0, 1.5)


def test_bad_sweeps_are_refused():
    with pytest.raises(sim.ScenarioError):
        sweep(STORM, "seed", [1], [1])
    with pytest.raises(sim.ScenarioError):
        sweep(STORM, "load", [], [1])


def test_chart_and_frame():
    r = sweep(STORM, "max_retries", [0, 5], [1])
    spec = sweep_chart(r, "recover_after_power_min").to_dict()
    text = str(spec)
    assert "tipping point between 0 and 5" in text
    assert "did not recover by the end of the run" in text
    for y in SWEEP_OUTCOMES:
        sweep_chart(r, y).to_dict()
    frame = sweep_frame(r)
    assert list(frame["max_retries"]) == [0, 5] and list(frame["recovered"]) == [True, False]


def test_sweep_link_settings_are_clamped():
    cfg, notices = sweep_from_params({"knob": "nope", "points": "99", "seeds": "x", "window": "5", "y": "?"},
                                     SWEEP_OUTCOMES)
    assert cfg["knob"] == SWEEP_DEFAULTS["knob"] and cfg["points"] == 20 and cfg["seeds"] == SWEEP_DEFAULTS["seeds"]
    assert cfg["window"] == 10 and cfg["y"] == SWEEP_DEFAULTS["y"]
    assert len(notices) == 5
    cfg2, notices2 = sweep_from_params(sweep_to_params(cfg), SWEEP_OUTCOMES)
    assert cfg2 == cfg and notices2 == []
    cfg3, _ = sweep_from_params({"knob": "load"}, SWEEP_OUTCOMES)
    assert (cfg3["lo"], cfg3["hi"]) == (KNOBS["load"].lo, KNOBS["load"].hi)
