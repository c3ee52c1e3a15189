"""The time budget: sim.run's cooperative deadline and ui/guard.py (messages, fault injection, sweeps)."""

from __future__ import annotations

import time

import pytest

import sim
from sim.sweep import sweep
from ui import guard, pool

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
    value, why = guard.attempt(lambda: guard.run_here(SMALL), budget=0.0)
    assert value is None and why == "it took longer than 0 s"


def test_a_lost_worker_is_named_not_blamed_on_the_budget():
    def killed():
        raise pool.WorkerLost("the simulation worker was killed by signal SIGKILL")

    def resting():
        raise pool.WorkerLost("the simulation worker exited with code 3", restarted=False)

    value, why = guard.attempt(killed)
    assert value is None
    assert why == "the simulation worker was killed by signal SIGKILL and has been restarted — try again"
    _, why = guard.attempt(resting)
    assert why.startswith("the simulation worker exited with code 3 several times") and "longer than" not in why


def test_compute_passes_who_asked_and_the_cost(monkeypatch):
    seen = []
    monkeypatch.setattr(pool, "call", lambda fn, *args, **kw: seen.append((args, kw)) or "ok")
    assert guard.compute(str, SMALL, True) == "ok"                     # the old signature still works
    assert guard.compute(str, SMALL, session="s1", cost=5.0) == "ok"
    (args, kw), (_, kw2) = seen
    assert args == (SMALL, True) and kw["session"] is None and kw["cost"] == 1.0 and kw["background"] is False
    assert kw2["session"] == "s1" and kw2["cost"] == 5.0


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


def test_fault_rules_may_match_part_of_a_field(monkeypatch):
    flipped = SMALL.with_power_flip(15.5, False)
    monkeypatch.setenv(guard.FAULT_ENV, "raise:actions~power start_min=1")
    assert guard.attempt(lambda: guard.run_here(flipped))[0] is None
    assert guard.attempt(lambda: guard.run_here(SMALL.replace(power_cut_min=20)))[0] is not None


@pytest.mark.parametrize("rule, seed, hit", [
    ("raise", 1, True), ("raise:seed=7", 7, True), ("raise:seed=7", 8, False), ("raise:seed!=7", 8, True),
    ("raise:seed!=7", 7, False), ("hang:seed=7;raise:seed=8", 8, True), ("explode", 1, False), ("", 1, False),
])
def test_fault_rules_match_scenarios(monkeypatch, rule, seed, hit):
    monkeypatch.setenv(guard.FAULT_ENV, rule)
    _, why = guard.attempt(lambda: guard.run_here(SMALL.replace(seed=seed)))
    assert ("injected fault" in why) == hit


def test_an_injected_stall_ends_at_the_deadline(monkeypatch):
    monkeypatch.setenv(guard.FAULT_ENV, "hang:seed=3")
    value, why = guard.attempt(lambda: guard.run_here(SMALL.replace(seed=3)), budget=0.2)
    assert value is None and why == "it took longer than 0.2 s"


