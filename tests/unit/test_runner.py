"""The one run path (ui/runner.py): limits said before anything runs, results kept once for everyone
within a bound in bytes, one simulation for two visitors asking at once, and experiments through
the one sweep engine."""

from __future__ import annotations

import threading
import time

import pytest

import sim
from sim.sweep import sweep
from ui import guard, pool, runner

SMALL = sim.Scenario(duration_min=20, power_cut_min=5, power_restored_min=10)


@pytest.fixture(autouse=True)
def _here(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_ENV, "0")
    runner.RESULTS.clear()


def test_a_run_over_the_step_limit_is_refused_before_it_starts(monkeypatch):
    started = []
    monkeypatch.setattr(guard, "_inject", lambda s: started.append(s))
    huge = sim.Scenario(duration_min=1440, step_s=1)
    value, why = guard.attempt(lambda: runner.lab(huge))
    assert value is None and not started
    assert "86,400 steps" in why and "at most 21,600 steps" in why and "command line" in why
    ok, why = guard.attempt(lambda: runner.lab(sim.Scenario(duration_min=360, step_s=1, actions=())))
    assert ok is not None and why == ""                          # 21,600 steps: allowed


def test_an_experiment_too_big_is_refused_up_front(monkeypatch):
    started = []
    monkeypatch.setattr(guard, "_inject", lambda s: started.append(s))
    base = sim.Scenario(duration_min=1440, step_s=4)                # 21,600 steps each
    need = runner.experiment_estimate(base, "load", [0.5 + i / 20 for i in range(20)], [1, 2, 3, 4, 5])
    assert need > runner.EXPERIMENT_BUDGET_S
    value, why = guard.attempt(lambda: runner.experiment(base, "load", [0.5 + i / 20 for i in range(20)],
                                                         [1, 2, 3, 4, 5]))
    assert value is None and not started and "more than the 90 s one experiment may use" in why


def test_an_experiment_matches_the_sweep_engine():
    base = SMALL
    expected = sweep(base, "max_retries", [0, 3], [1, 2])
    (got, message), why = guard.attempt(lambda: runner.experiment(base, "max_retries", [0, 3], [1, 2]))
    assert why == "" and message == "" and got.points == expected.points and got.values == expected.values


def test_an_experiment_names_failed_runs_and_stops_after_three(monkeypatch):
    base = SMALL
    monkeypatch.setenv(guard.FAULT_ENV, "raise:max_retries=3")
    (got, message), _ = guard.attempt(lambda: runner.experiment(base, "max_retries", [0, 3], [1, 2]))
    assert [(p.value, p.seed) for p in got.points] == [(0.0, 1), (0.0, 2)]
    assert "2 of 4 runs could not be simulated" in message and "Max retries = 3, seed 2" in message
    monkeypatch.setenv(guard.FAULT_ENV, "raise")
    done = []
    (got, message), _ = guard.attempt(lambda: runner.experiment(base, "max_retries", [0, 1, 2], [1, 2],
                                                                 progress=lambda d, t: done.append(d)))
    assert not got.points and done[-1] == 3
    assert "could not be run" in message and "stopped after 3 runs failed" in message
    (_, kept), _ = guard.attempt(lambda: runner.experiment(base, "max_retries", [0], [1], had_result=True))
    assert "still showing the previous result" in kept


def test_results_are_bounded_in_bytes():
    kept = runner.Results(max_bytes=1000)
    for i in range(10):
        kept.get(i, lambda: "x" * 300, len)
    assert kept.held <= 1000 and len(kept) == 3 and 9 in kept and 0 not in kept
    kept.get("big", lambda: "y" * 5000, len)                        # alone over the bound: kept, the rest go
    assert len(kept) == 1 and "big" in kept


def test_two_visitors_asking_at_once_share_one_simulation():
    kept, made = runner.Results(), []

    def make():
        made.append(1)
        time.sleep(0.3)
        return "run"

    out = []
    threads = [threading.Thread(target=lambda: out.append(kept.get("k", make, len))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == ["run"] * 4 and len(made) == 1


def test_a_failure_is_not_kept():
    kept, calls = runner.Results(), []

    def boom():
        calls.append(1)
        raise RuntimeError("no")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            kept.get("k", boom, len)
    assert len(calls) == 2 and "k" not in kept


def test_first_minutes_then_the_rest():
    s = sim.FREE_PLAY.with_power_flip(10.0, False)
    part, _ = guard.attempt(lambda: runner.player(s, first_from_min=10.0))
    assert part["partial"] and part["steps"] == int((10 + runner.FIRST_MINUTES) * 6) + 1
    assert part["total_steps"] == s.steps + 1
    whole, _ = guard.attempt(lambda: runner.player(s, first_from_min=10.0, rest=True))
    assert not whole.get("partial") and whole["steps"] == s.steps + 1
    again, _ = guard.attempt(lambda: runner.player(s, first_from_min=10.0))
    assert again is whole                                    # kept: a later flip there gets the whole run


def test_the_session_s_architecture_flows_through_every_run_and_its_cache_key(monkeypatch):
    """ui/architecture.py's choice reaches the views, the timeline and experiments; the built-in
    app's results are not reused for it (the key holds the architecture)."""
    from sim.architecture import ARCH_DIR
    from ui import architecture

    s = sim.Scenario(duration_min=20, actions=())
    builtin, _ = guard.attempt(lambda: runner.lab(s))
    chosen, why = architecture.make((ARCH_DIR / "queue_worker.toml").read_text(), "queue_worker.toml")
    assert why == "" and chosen is not None
    monkeypatch.setattr(architecture, "current", lambda: chosen)
    mine, _ = guard.attempt(lambda: runner.lab(s))
    ids = lambda view: {n["id"] for n in view["payload"]["nodes"]}  # noqa: E731
    assert ids(mine) == set(chosen.graph) and ids(mine) != ids(builtin)
    assert runner.timeline(s).graph.graph["name"] == chosen.graph.graph["name"]
    assert "success_place_order" in runner.csv(s, "metrics")()
    (result, message), _ = guard.attempt(lambda: runner.experiment(s, "max_retries", [0, 3], [1]))
    assert message == "" and len(result.points) == 2
    # an invalid text is refused with its message and changes nothing
    bad, why = architecture.make("[[node]\n", "broken.toml")
    assert bad is None and why.startswith("broken.toml: not valid TOML")
