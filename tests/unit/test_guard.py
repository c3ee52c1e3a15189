"""The time budget: sim.run's cooperative deadline and ui/guard.py (messages, fault injection, sweeps)."""

from __future__ import annotations

import time

import pytest

import sim
from sim.sweep import sweep
from ui import guard

SMALL = sim.Scenario(duration_min=30, power_cut_min=5, power_restored_min=15)


@pytest.fixture(autouse=True)
def no_faults(monkeypatch):
    monkeypatch.delenv(guard.FAULT_ENV, raising=False)
    monkeypatch.delenv(guard.BUDGET_ENV, raising=False)


def test_a_passed_deadline_stops_the_run():
    with pytest.raises(sim.OverBudget):
        sim.run(SMALL, deadline=time.monotonic() - 1)


def test_a_deadline_in_time_changes_nothing():
    a, b = sim.run(SMALL), sim.run(SMALL, deadline=time.monotonic() + 3600)
    assert a.metrics == b.metrics and a.events == b.events and a.node_states == b.node_states


def test_attempt_turns_exceptions_into_one_plain_sentence():
    def boom():
        raise ValueError("bad *thing*\n  happened")

    value, why = guard.attempt(boom)
    assert value is None and why == r"the model stopped with an error: bad \*thing\* happened"
    assert guard.attempt(lambda: 42) == (42, "")


def test_attempt_reports_the_budget_it_gave():
    value, why = guard.attempt(lambda: guard.run(SMALL), budget=0.0)
    assert value is None and why == "it took longer than 0 s"


def test_nested_attempts_keep_the_earlier_deadline():
    seen = []
    guard.attempt(lambda: guard.attempt(lambda: seen.append(guard._deadline.get()), budget=100), budget=1)
    assert seen[0] < time.monotonic() + 1.5
    assert guard._deadline.get() is None  # reset afterwards


def test_budget_from_the_environment(monkeypatch):
    assert guard.budget_s() == guard.DEFAULT_BUDGET_S
    monkeypatch.setenv(guard.BUDGET_ENV, "2.5")
    assert guard.budget_s() == 2.5
    monkeypatch.setenv(guard.BUDGET_ENV, "soon")
    assert guard.budget_s() == guard.DEFAULT_BUDGET_S


@pytest.mark.parametrize("rule, seed, hit", [
    ("raise", 1, True), ("raise:seed=7", 7, True), ("raise:seed=7", 8, False), ("raise:seed!=7", 8, True),
    ("raise:seed!=7", 7, False), ("hang:seed=7;raise:seed=8", 8, True), ("explode", 1, False), ("", 1, False),
])
def test_fault_rules_match_scenarios(monkeypatch, rule, seed, hit):
    monkeypatch.setenv(guard.FAULT_ENV, rule)
    _, why = guard.attempt(lambda: guard.run(SMALL.replace(seed=seed)))
    assert ("injected fault" in why) == hit


def test_an_injected_stall_ends_at_the_deadline(monkeypatch):
    monkeypatch.setenv(guard.FAULT_ENV, "hang:seed=3")
    value, why = guard.attempt(lambda: guard.run(SMALL.replace(seed=3)), budget=0.2)
    assert value is None and why == "it took longer than 0.2 s"


def test_guarded_sweep_matches_sim_sweep():
    base = SMALL.replace(duration_min=20)
    expected = sweep(base, "max_retries", [0, 3], [1, 2])
    got, message = guard.sweep(base, "max_retries", [0, 3], [1, 2])
    assert message == "" and got.points == expected.points and got.values == expected.values


def test_guarded_sweep_names_failed_runs_and_stops_after_three(monkeypatch):
    base = SMALL.replace(duration_min=20)
    monkeypatch.setenv(guard.FAULT_ENV, "raise:max_retries=3")
    got, message = guard.sweep(base, "max_retries", [0, 3], [1, 2])
    assert [(p.value, p.seed) for p in got.points] == [(0.0, 1), (0.0, 2)]
    assert "2 of 4 runs could not be simulated" in message and "Max retries = 3, seed 2" in message
    monkeypatch.setenv(guard.FAULT_ENV, "raise")
    done = []
    got, message = guard.sweep(base, "max_retries", [0, 1, 2], [1, 2], progress=lambda d, t: done.append(d))
    assert not got.points and done[-1] == 3
    assert "could not be run" in message and "stopped after 3 runs failed" in message
    _, kept = guard.sweep(base, "max_retries", [0], [1], had_result=True)
    assert "still showing the previous result" in kept
