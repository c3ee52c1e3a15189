"""The simulation worker process (ui/pool.py): same results as in this process, errors and time
budgets carried back, a dead, killed or stopped worker replaced (the run done here when time allows,
else a truthful WorkerLost), repeated deaths resting the worker for a while but never for good, fair
turns between sessions, and no worker when disabled."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
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


def kill_in_worker(scenario: sim.Scenario, *, deadline: float | None = None) -> str:
    """SIGKILLs the worker in the middle of its run; harmless here."""
    if mp.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    return "done here"


def stop_in_worker(scenario: sim.Scenario, *, deadline: float | None = None) -> str:
    """SIGSTOPs the worker in the middle of its run (a hung worker); harmless here."""
    if mp.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGSTOP)
    return "done here"


def hang_in_worker(scenario: sim.Scenario, *, deadline: float | None = None) -> str:
    """A run in the worker that ignores its deadline (as a deadlock would); harmless here."""
    if mp.parent_process() is not None:
        time.sleep(60)
    return "done here"


def die_after_deadline(scenario: sim.Scenario, *, deadline: float | None = None) -> str:
    """The worker is killed after the run's deadline (before the grace period ends)."""
    if mp.parent_process() is not None:
        time.sleep(max(0.0, deadline - time.monotonic()) + 0.2)
        os.kill(os.getpid(), signal.SIGKILL)
    return "done here"


def die_then_over_budget(scenario: sim.Scenario, *, deadline: float | None = None) -> str:
    """The worker exits; the run done again here then runs out of time."""
    if mp.parent_process() is not None:
        os._exit(3)
    raise sim.OverBudget("out of time here")


def nap(seconds: float, tag: str, *, deadline: float | None = None) -> tuple[str, int, float, float]:
    """Work of a known length: (tag, pid, start, end) on the monotonic clock every process shares."""
    start = time.monotonic()
    time.sleep(seconds)
    return tag, os.getpid(), start, time.monotonic()


def compiled_here(scenario: sim.Scenario, *, deadline: float | None = None) -> tuple[bool, float, float | None]:
    """Whether this process has the compiled step ready, when the job started, and its deadline."""
    from sim import compiled  # noqa: PLC0415

    kernel = compiled._compiled.get("kernel")
    return bool(kernel is not None and kernel.signatures), time.monotonic(), deadline


def quick_warm_up() -> bool:
    return True


def until(test, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


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


def test_a_worker_readies_the_compiled_step_only_for_a_large_architecture(worker):
    """Workers do not load numba until a job needs it (100+ MB); the time it takes moves the job's
    deadline, which would have passed by then."""
    from sim import compiled  # noqa: PLC0415

    if not compiled.available():
        pytest.skip("numba is not installed")
    s = sim.Scenario()
    assert pool.call(compiled_here, s)[0] is False
    asked = time.monotonic() + 0.05
    ready, started, deadline = pool.call(compiled_here, s, deadline=asked, compiled=True)
    assert ready and started > asked and deadline > started
    again = time.monotonic() + 5.0
    assert pool.call(compiled_here, s, deadline=again, compiled=True)[0::2] == (True, again)     # once per worker


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
    old = pool.status()["pids"]
    assert pool.call(die_in_worker, sim.Scenario()) == "done here"
    assert pool.wait_ready(120), "no new worker after the old one died"
    assert pool.status()["pids"] != old and pool.status()["deaths"] == 1
    assert pool.call(where, sim.Scenario()) not in (os.getpid(), *old)


def gone(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[0] == "Z"


def test_a_stopped_worker_is_killed_and_replaced(worker):
    """A SIGSTOPped worker is hung: its visitor is told so (not "took too long"), and the next run
    goes to a new worker within a couple of seconds instead of waiting for the old one."""
    (old,) = pool.status()["pids"]
    start = time.monotonic()
    with pytest.raises(pool.WorkerLost) as lost:
        pool.call(stop_in_worker, sim.Scenario(), deadline=start + 0.5)
    assert not isinstance(lost.value, sim.OverBudget)
    assert "worker" in str(lost.value) and lost.value.restarted
    assert time.monotonic() - start < pool.STOPPED_S + pool.GRACE_S + 2
    until(lambda: gone(old))
    start = time.monotonic()
    assert pool.wait_ready(10)
    assert pool.call(where, sim.Scenario()) not in (old, os.getpid())
    assert time.monotonic() - start < 5


def test_a_stopped_workers_run_is_done_here_when_time_allows(worker):
    (old,) = pool.status()["pids"]
    start = time.monotonic()
    assert pool.call(stop_in_worker, sim.Scenario(), deadline=start + 30) == "done here"
    assert time.monotonic() - start < pool.STOPPED_S + 3      # noticed long before the deadline
    until(lambda: gone(old))


def test_a_worker_silent_past_its_deadline_is_hung(worker, monkeypatch):
    monkeypatch.setattr(pool, "GRACE_S", 0.3)
    (old,) = pool.status()["pids"]
    start = time.monotonic()
    with pytest.raises(pool.WorkerLost, match="stopped responding"):
        pool.call(hang_in_worker, sim.Scenario(), deadline=start + 0.3)
    assert time.monotonic() - start < 3
    until(lambda: gone(old))
    assert pool.wait_ready(10) and pool.call(where, sim.Scenario()) not in (old, os.getpid())


def test_a_worker_killed_mid_run(worker):
    """Killed with time left: the run is done here. Killed past the deadline: WorkerLost naming the
    signal, never OverBudget (which says the run itself took too long)."""
    assert pool.call(kill_in_worker, sim.Scenario(), deadline=time.monotonic() + 30) == "done here"
    assert pool.wait_ready(10)
    with pytest.raises(pool.WorkerLost, match="killed by signal SIGKILL") as lost:
        pool.call(die_after_deadline, sim.Scenario(), deadline=time.monotonic() + 0.3)
    assert not isinstance(lost.value, sim.OverBudget)
    assert pool.wait_ready(10)
    with pytest.raises(pool.WorkerLost, match="exited with code 3"):
        pool.call(die_then_over_budget, sim.Scenario(), deadline=time.monotonic() + 30)
    assert pool.status()["deaths"] == 3


def test_repeated_deaths_rest_the_worker_but_never_for_good(worker, monkeypatch, caplog):
    monkeypatch.setattr(pool, "COOLDOWN_S", 1.0)
    monkeypatch.setattr(pool, "WARM_UP", quick_warm_up)       # five restarts: spare the real warm-up's run
    for _ in range(pool.MAX_DEATHS + 1):
        assert pool.wait_ready(10)
        assert pool.call(die_in_worker, sim.Scenario()) == "done here"
    state = pool.status()
    assert state["deaths"] == pool.MAX_DEATHS + 1 and state["paused_until"] is not None
    assert "server process for 1 s" in caplog.text
    assert pool.call(where, sim.Scenario()) == os.getpid()      # resting: runs go on here
    assert pool.wait_ready(10), "the worker did not come back after its cool-down"
    assert pool.call(die_in_worker, sim.Scenario()) == "done here"     # a fifth death
    assert pool.wait_ready(10)
    assert pool.call(where, sim.Scenario()) != os.getpid()
    assert pool.status()["deaths"] == pool.MAX_DEATHS + 2


def in_threads(*calls) -> tuple[list, list[threading.Thread]]:
    out: list = []
    threads = [threading.Thread(target=lambda c=c: out.append(pool.call(*c[0], **c[1]))) for c in calls]
    return out, threads


def test_a_light_run_does_not_wait_behind_another_sessions_heavy_ones(worker):
    """Session A queues four heavy runs; session B's light run goes on here while the worker is busy
    with heavy work, and ends before A's second heavy run starts."""
    heavy = {"session": "A", "cost": pool.HEAVY_COST * 10, "deadline": time.monotonic() + 30}
    out, threads = in_threads(*[((nap, 1.5 if i == 0 else 0.3, f"A{i}"), heavy) for i in range(4)])
    threads[0].start()
    until(lambda: pool.status()["busy"] == 1)
    for t in threads[1:]:
        t.start()
    until(lambda: pool.status()["waiting"] == 3)
    _, pid, _, b_end = pool.call(nap, 0.1, "B", session="B", cost=1.0, deadline=time.monotonic() + 30)
    for t in threads:
        t.join(10)
    runs = {tag: (p, start, end) for tag, p, start, end in out}
    assert pid == os.getpid() and {p for p, _, _ in runs.values()} == set(pool.status()["pids"])
    assert b_end < min(start for tag, (_, start, _) in runs.items() if tag != "A0")


def test_sessions_take_turns_for_the_worker(worker):
    """Light runs: A has one running and three waiting; B's one run goes next, not after all of A's."""
    light = {"session": "A", "deadline": time.monotonic() + 30}
    out, threads = in_threads(*[((nap, 1.0 if i == 0 else 0.2, f"A{i}"), light) for i in range(4)],
                              ((nap, 0.2, "B0"), {"session": "B", "deadline": time.monotonic() + 30}))
    threads[0].start()
    until(lambda: pool.status()["busy"] == 1)
    for t in threads[1:4]:
        t.start()
    until(lambda: pool.status()["waiting"] == 3)
    threads[4].start()
    for t in threads:
        t.join(10)
    order = [tag for tag, *_ in sorted(out, key=lambda r: r[2])]
    assert order == ["A0", "B0", "A1", "A2", "A3"]
    assert {pid for _, pid, _, _ in out} == set(pool.status()["pids"])     # all in the worker


def job(session: str, background: bool = False, heavy: bool = False) -> pool._Job:
    return pool._Job(session, heavy, background, None)


def test_the_order_of_waiting_jobs():
    """Urgent before background (the rest of a run waits for a visitor's first minutes), light before
    heavy, round-robin across sessions, then arrival."""
    q = pool._Queue()
    rest, first = job("A", background=True), job("B")
    q.add(rest)
    q.add(first)
    assert q.first() is first
    q.start(first)
    assert q.first() is rest
    heavy, light = job("C", heavy=True), job("D", background=True)
    q.add(heavy)
    q.add(light)
    assert q.first() is heavy                   # urgent heavy before background light
    q.start(heavy)
    assert q.first() is rest                    # then background ones in arrival order
    q.start(rest)
    assert q.first() is light


def test_sessions_take_rounds():
    q = pool._Queue()
    a = [job("A") for _ in range(4)]
    q.add(a[0])
    q.start(a[0])                               # with the worker
    for j in a[1:]:
        q.add(j)
    b = job("B")
    q.add(b)
    order = []
    while q.first() is not None:
        order.append(q.first())
        q.start(order[-1])
    assert order == [b, *a[1:]]
    late = job("C")                             # arrives after A's rounds went on: no credit for idling
    q.add(late)
    assert late.round == a[-1].round
    gave_up, after = job("D"), job("D")
    q.add(gave_up)
    q.remove(gave_up)                           # ran here instead: its round is given back
    q.add(after)
    assert after.round == gave_up.round


def test_a_turn_not_given_by_the_deadline_is_refused(worker):
    busy = threading.Thread(target=pool.call, args=(nap, 1.0, "busy"), kwargs={"deadline": time.monotonic() + 30})
    busy.start()
    until(lambda: pool.status()["busy"] == 1)
    with pytest.raises(sim.OverBudget, match="still waiting"):
        pool.call(where, sim.Scenario(), deadline=time.monotonic() + 0.2)
    assert pool.status()["waiting"] == 0                      # the refused one left the queue
    busy.join(10)
    assert pool.call(where, sim.Scenario(), deadline=time.monotonic() + 10) != os.getpid()


def test_no_worker_when_disabled(monkeypatch):
    monkeypatch.setenv(pool.WORKERS_ENV, "0")
    pool.shutdown()
    assert pool.workers() == 0
    assert pool.call(where, sim.Scenario()) == os.getpid()
    assert pool.status()["pids"] == [] and not pool.wait_ready(0.1)


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
