"""Issue 13: the operator's actions are interventions whose effects follow from the model; captions
say from the model's state why users are still affected; "What users see" is the run's metrics."""

from __future__ import annotations

import math

import pytest

import sim
from sim import operator
from sim.interventions import InterventionError, parse
from sim.simulation import FAILOVER_MIN, Simulation
from viz.users import lines_at, users_view

STUCK = sim.Scenario()          # cut 0:15–1:15, nobody acts: stuck after the power is back
G = sim.default_architecture()


def _run(*texts: str) -> sim.Timeline:
    return sim.run(STUCK.replace(actions=STUCK.actions + tuple(parse(t) for t in texts)))


def _stepped_to(s: sim.Scenario, minute: float) -> Simulation:
    run = Simulation(s)
    while run.st.k * s.step_s < minute * 60:
        run.step()
    return run


def test_every_action_label_is_one_kind_and_acts_at_the_moment_given():
    assert [a.label for a in operator.ACTIONS] == [
        "Shed load", "Block traffic / let it back in", "Retry budget", "Circuit breakers", "Add capacity",
        "Fail over", "Warm the caches"]
    s = operator.act(STUCK, "Shed load", 90, True)
    assert s.actions[-1].text() == "shed_load start_min=90"
    s = operator.act(s, "Shed load", 100, False)              # off again: the one in force ends there
    assert [a.text() for a in s.actions if a.kind == "shed_load"] == ["shed_load start_min=90 end_min=100"]
    # Acting on a kind decides it from then on: a later one of the same kind is replaced.
    s = operator.act(operator.act(STUCK, "Circuit breakers", 120, True), "Circuit breakers", 90, True)
    assert [a.text() for a in s.actions if a.kind == "breakers"] == ["breakers start_min=90"]
    # Block traffic, then let it back in stages.
    s = operator.act(STUCK, "Block traffic / let it back in", 80, 0)
    s = operator.act(s, "Block traffic / let it back in", 85, 50)
    s = operator.act(s, "Block traffic / let it back in", 90, 100)
    assert [a.text() for a in s.actions if a.kind == "admit"] == [
        "admit fraction=0 start_min=80 end_min=85", "admit fraction=0.5 start_min=85 end_min=90"]
    # Warming the caches twice is two actions (no end).
    s = operator.act(operator.act(STUCK, "Warm the caches", 80), "Warm the caches", 90)
    assert len([a for a in s.actions if a.kind == "warm_caches"]) == 2


@pytest.mark.parametrize("label, value, node, problem", [
    ("Reboot everything", True, None, "unknown action"),
    ("Add capacity", 2, "utility", "choose one of"),
    ("Fail over", True, "user_db", "choose one of"),       # a primary backend fails over by itself
    ("Block traffic / let it back in", 140, None, "0 to 100"),
    ("Add capacity", 50, "auth", "out of range"),
])
def test_bad_actions_are_refused_with_what_is_allowed(label, value, node, problem):
    with pytest.raises(operator.ActionError, match=problem):
        operator.act(STUCK, label, 90, value, node, G)


def test_add_capacity_takes_the_boot_time_then_scales_the_node():
    s = operator.act(STUCK, "Add capacity", 90, 3, "auth", G)
    boot = G.nodes["auth"]["boot_min"]
    before = _stepped_to(s, 90 + boot - 0.5)
    i = before.model.idx["auth"]
    normal = _stepped_to(STUCK, 90 + boot - 0.5).model.st.capacity[i]
    assert before.model.st.capacity[i] == pytest.approx(normal)
    after = _stepped_to(s, 90 + boot + 0.5)
    assert after.model.st.capacity[i] == pytest.approx(3 * normal)
    labels = [m.label for m in sim.run(s).milestones if m.action]
    assert labels == [f"Operators add capacity to Auth service ×3 (ready in {boot:.0f} min)", "Auth service runs ×3 capacity"]


def test_failover_adds_the_secondary_sites_headroom_after_the_switch_over():
    s = operator.act(STUCK, "Fail over", 90, True, "auth", G)
    i = Simulation(s).model.idx["auth"]
    before = _stepped_to(s, 90 + FAILOVER_MIN - 0.5).model
    after = _stepped_to(s, 90 + FAILOVER_MIN + 0.5).model
    assert after.st.capacity[i] - before.st.capacity[i] == pytest.approx(STUCK.failover_headroom * after.L0[i])


def test_admit_turns_users_away_and_counts_them_as_failed():
    tl = _run("admit fraction=0.25 start_min=5 end_min=10")
    k = tl.index_at(7 * 60)
    assert tl.metrics["login_success"][k] == pytest.approx(0.25, abs=0.01)
    assert tl.metrics["watch_success"][k] == pytest.approx(0.25, abs=0.01)


def test_the_retry_budget_and_breakers_switch_clients_mid_run():
    budget = _stepped_to(STUCK.replace(actions=STUCK.actions + (parse("retry_budget start_min=90"),)), 91)
    assert budget.model.st.policy == "budget"
    assert _stepped_to(STUCK, 91).model.st.policy == "immediate"
    breakers = _stepped_to(STUCK.replace(actions=STUCK.actions + (parse("breakers start_min=90"),)), 91)
    assert breakers.st.breakers and any(t > 0 for t in breakers.model.st.breaker_until)


def test_warming_the_caches_fills_every_running_cache_at_that_moment():
    s = STUCK.replace(actions=STUCK.actions + (parse("warm_caches start_min=77"),))
    cold = _stepped_to(STUCK, 77.2).model
    warm = _stepped_to(s, 77.2).model
    caches = [i for i in range(cold.n) if cold.is_cache[i]]
    assert any(cold.st.warm[i] < 0.9 for i in caches)
    assert all(warm.st.warm[i] > 0.99 for i in caches if warm.st.cap_avail[i] > 0)


def test_which_actions_unstick_the_app_follows_from_the_model():
    """After the power is back the stuck app stays stuck; shedding load or a retry budget end it, more
    capacity on the auth service alone only moves the overload to the session store (as the caption
    says). Figures from the model, not a script."""
    def recovered(tl):
        return any(m.label == "Recovered" for m in tl.milestones)
    assert not recovered(_run())
    assert recovered(_run("shed_load start_min=90"))
    assert recovered(_run("retry_budget start_min=90"))
    capacity = _run("add_capacity node=auth factor=2 start_min=90")
    assert not recovered(capacity)
    late = [text for t, text in capacity.extras["causes"] if t >= 100 * 60]
    assert "Session store gets" in late[0]


def test_captions_say_where_the_failure_starts_and_never_go_stale_while_users_are_affected():
    tl = _run()
    caps = sim.captions(tl)
    stuck = [c for c in caps if 110 * 60 <= c.t_s]
    assert stuck, "no caption after the power is back"
    text = stuck[0].text
    # the example, from the model's own numbers
    assert "Power back for" in text and "Log in" in text and "Auth service gets 4.0× its normal load" in text
    assert "against 2.5× capacity" in text and "retries" in text
    times = [c.t_s for c in caps if c.t_s >= 75 * 60]
    assert max(b - a for a, b in zip(times, times[1:])) <= 5 * 60 + 1e-6
    # and say what brought users back
    shed = sim.captions(_run("shed_load start_min=90"))
    assert any("Users are fine again after “Operators shed load” at 1:30" in c.text for c in shed)


def test_what_users_see_is_the_runs_metrics():
    tl = _run()
    view = users_view(tl)
    for t in (600.0, 3000.0, 9000.0):
        k = tl.index_at(t)
        frame = [f for f in view["frames"] if f[0] <= t][-1][1]
        assert frame == lines_at(tl, k)
        login = frame[0]
        x = tl.metrics["login_success"][k]
        assert login[0] == "Log in" and f"{x:.0%}" in login[2] and login[1] == ("✓" if x >= 0.95 else "✕" if x < 0.5 else "!")
        assert view["views"]["true"][k] == math.floor(tl.metrics["views_true"][k])


def test_an_intervention_that_cannot_start_before_it_ends_is_refused_or_inert():
    with pytest.raises(InterventionError):
        parse("add_capacity node=auth factor=0.5 start_min=80")
    # ends before the new servers boot: no effect at all
    tl = _run("add_capacity node=auth factor=3 start_min=90 end_min=91")
    assert [m.label for m in tl.milestones if m.action] == ["Operators add capacity to Auth service ×3 (ready in 3 min)"]
