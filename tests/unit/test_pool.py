"""The simulation worker process (ui/pool.py): same results as in this process, errors and time
budgets carried back, a dead worker replaced without losing the run, and no worker when disabled."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time

import pytest

import sim
from ui import guard, pool
from viz.runs import player_view

pytestmark = pytest.mark.slow   # starts real worker processes (a few seconds)


def boom(scenario: sim.Scenario, *, deadline: float | None = None) -> None:
    raise ValueError(f"no good: {scenario.seed}")


def where(scenario: sim.Scenario, *, deadline: float | None = None) -> int:
    return os.getpid()


def die_in_worker(scenario: sim.Scenario, *, deadline: float | None = None) -> str:
    """Kills a worker process (as the kernel's out-of-memory killer would); harmless here."""
    if mp.parent_process() is not None:
        os._exit(3)
    return "done here"


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_ENV, "1")
    pool.shutdown()
    assert pool.wait_ready(120), "the worker process did not start"
    yield
    pool.shutdown()


def test_a_run_in_the_worker_equals_a_run_here(worker):
    s = sim.Scenario(power_cut_min=5.0, duration_min=40.0)
    assert pool.call(where, s) != os.getpid()          # it really ran elsewhere
    assert pool.call(player_view, s, True) == player_view(s, True)


def test_errors_come_back_unchanged(worker):
    with pytest.raises(ValueError, match="no good: 7"):
        pool.call(boom, sim.Scenario(seed=7))


def test_a_passed_deadline_stops_the_run_in_the_worker(worker):
    with pytest.raises(sim.OverBudget):
        pool.call(player_view, sim.Scenario(), False, deadline=time.monotonic() - 1.0)


def test_the_budget_reaches_the_worker_through_guard(worker):
    """A page's attempt() budget applies to a run in the worker: a whole default run cannot finish in 1 ms."""
    value, why = guard.attempt(lambda: guard.compute(player_view, sim.Scenario(), True), budget=0.001)
    assert value is None
    assert why == guard.text("timeout", budget="0.001")


def test_a_dead_worker_is_replaced_and_the_run_done_here(worker):
    old = pool._pool
    assert pool.call(die_in_worker, sim.Scenario()) == "done here"
    assert pool.wait_ready(120), "no new worker after the old one died"
    assert pool._pool is not old
    assert pool.call(where, sim.Scenario()) != os.getpid()


def test_urgent_runs_take_their_turn_before_background_ones():
    """The rest of a run (background) that arrived first waits for a visitor's first minutes (urgent)."""
    turns, order = pool._Turns(), []
    assert turns.take(False, 1, None)            # the worker is busy

    def wait(name: str, background: bool) -> None:
        assert turns.take(background, 1, time.monotonic() + 30)
        order.append(name)
        turns.give_back()

    rest = threading.Thread(target=wait, args=("rest", True))
    rest.start()
    time.sleep(0.2)
    first = threading.Thread(target=wait, args=("first minutes", False))
    first.start()
    time.sleep(0.2)
    assert order == []
    turns.give_back()
    rest.join(10)
    first.join(10)
    assert order == ["first minutes", "rest"]


def test_a_turn_not_given_by_the_deadline_is_refused():
    turns = pool._Turns()
    assert turns.take(False, 1, None)
    assert not turns.take(False, 1, time.monotonic() + 0.1)
    turns.give_back()
    assert turns.take(True, 1, time.monotonic() + 1)     # the refused one left the queue


def test_no_worker_when_disabled(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_ENV, "0")
    pool.shutdown()
    assert pool.workers() == 0
    assert pool.call(where, sim.Scenario()) == os.getpid()
    assert pool._pool is None


def test_a_bad_setting_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_ENV, "many")
    assert pool.workers() in (0, 1)
    monkeypatch.setenv(pool.WORKERS_ENV, "9")
    assert pool.workers() == pool.MAX_WORKERS


def test_a_worker_starting_up_does_not_run_the_app():
    """multiprocessing re-runs the main script as __mp_main__ in each new worker; under Streamlit that
    is app.py, which must then draw nothing (and not even import Streamlit)."""
    import subprocess
    import sys
    from pathlib import Path

    app = Path(__file__).resolve().parents[2] / "app.py"
    code = ("import runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__'); "
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(app)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
