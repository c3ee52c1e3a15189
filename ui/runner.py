"""The one run path: every page's simulations go through here (tests/app/test_one_runner.py).

What it owns, so that no page holds a scheduling policy:
- **Limits, up front.** A run longer than MAX_STEPS steps, or an experiment whose runs would take
  longer than EXPERIMENT_BUDGET_S in all, is refused before it starts (`Refused`, said in plain
  words by ui/guard.py); every run has the time budget of the enclosing `guard.attempt`.
- **Caches, bounded in bytes.** Results are kept once for every visitor (CACHE_BYTES in all); two
  visitors asking for the same run at once share one simulation.
- **The worker process** (ui/pool.py): runs go to the second core, with the asking session and the
  run's cost, so the worker's turns are fair between visitors and light runs go first.
- **First minutes first.** After a flip of the Explainer's switch the player first gets the next
  FIRST_MINUTES of the new run, then the rest — one rest at a time across sessions, after other
  visitors' first minutes.
- **Checkpoints and resume** happen where the runs are made (viz/runs.py's store of recent runs).
- **The session's architecture** (ui/architecture.py, chosen on the Architecture page) is used for
  every run and is part of every cache key; the built-in app's runs are shared as before.

Pages call `player`, `lab`, `compare`, `csv`, `timeline` and `experiment` inside `guard.attempt`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import sim
from sim import challenge, compiled
from sim.sweep import SweepResult, point_scenario, sweep
from ui import architecture, guard
from viz.runs import compare_view, csv_view, lab_view, on_architecture, player_view, point_outcome

MAX_STEPS = 21_600               # per run in the app: 6 h at 1-s steps, 24 h at 4-s steps (the CLI has no limit)
CACHE_BYTES = 128 * 2**20        # results kept for every visitor (views and story timelines)
FIRST_MINUTES = 20.0             # after a flip, the player gets this much of the new run first
EXPERIMENT_BUDGET_S = 90.0       # one experiment's runs in all, estimated before it starts
EXPERIMENT_MAX_FAILURES = 3      # an experiment stops after this many failed runs
# Simulation time per unit of work (steps × (nodes + calls)), measured on this machine kind (a default
# 3-hour run: ~0.12 s alone) with room for a busy server; only used to refuse what would not fit.
SECONDS_PER_UNIT = 1.5e-6
log = logging.getLogger(__name__)
Refused = guard.Refused


# ---- limits ------------------------------------------------------------------------------------------
def check(scenario: sim.Scenario) -> None:
    """Refuse a run longer than MAX_STEPS steps, saying what would fit."""
    if scenario.steps > MAX_STEPS:
        raise Refused(f"it would be {scenario.steps:,} steps ({scenario.duration_min:g} min at "
                      f"{scenario.step_s:g}-s steps); the app simulates at most {MAX_STEPS:,} steps a run, "
                      f"for example 6 hours at 1-s steps or 24 hours at 4-s steps — use a longer step or a "
                      f"shorter run (the command line has no limit)")


def _size(graph: Any = None) -> int:
    g = graph if graph is not None else architecture.graph()
    return g.number_of_nodes() + g.number_of_edges()


def cost(scenario: sim.Scenario) -> float:
    """A run's work in the worker's units (ui/pool.py: steps × nodes of the session's architecture)."""
    return float(scenario.steps * architecture.graph().number_of_nodes())


def _arch() -> str | None:
    """The session's architecture as part of a cache key (None: the built-in app)."""
    chosen = architecture.current()
    return chosen.digest if chosen is not None else None


_ASK = object()


def _compute(fn: Callable[..., Any], scenario: sim.Scenario, *args: Any, session: str | None = None,
             chosen: Any = _ASK) -> Any:
    """guard.compute of a view on the session's architecture (passed to the worker as its text)."""
    chosen = architecture.current() if chosen is _ASK else chosen
    if chosen is None:
        return guard.compute(fn, scenario, *args, session=session, cost=cost(scenario))
    large = compiled.wanted(chosen.graph)
    with _readying(large):
        return guard.compute(on_architecture, scenario, chosen.text, fn.__name__, *args, session=session,
                             cost=float(scenario.steps * chosen.graph.number_of_nodes()), compiled=large)


_large_runs = threading.Event()         # set once this server has run a large architecture


@contextmanager
def _readying(large: bool) -> Iterator[None]:
    """Around the first large architecture's run in this server: a spinner that says why it may wait
    (the compiled step is readied first: about ten seconds the first time after a deploy)."""
    if not large or _large_runs.is_set() or session() is None:
        yield
        return
    import streamlit as st  # noqa: PLC0415 — only inside a page

    with st.spinner(guard.text("readying")):
        yield
    _large_runs.set()


def estimate_s(scenario: sim.Scenario) -> float:
    """Roughly how long one run takes here (for limits said up front, not for promises)."""
    return scenario.steps * _size() * SECONDS_PER_UNIT


def session() -> str | None:
    """The Streamlit session asking (its turns in the worker are kept fair), or None outside one."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: PLC0415
    except ImportError:  # pragma: no cover - Streamlit is a run-time requirement
        return None
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


# ---- results kept for everyone ------------------------------------------------------------------------
class Results:
    """A thread-safe LRU of results bounded in bytes; one computation per key at a time (a second
    visitor asking while the first's run is on waits for it instead of running it again). Failures
    are not kept."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._making: dict[Any, threading.Event] = {}
        self._held = 0
        self._lock = threading.Lock()

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: Any, make: Callable[[], Any], size: Callable[[Any], int]) -> Any:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                waiting = self._making.get(key)
                if waiting is None:
                    self._making[key] = threading.Event()
                    break
            waiting.wait(guard.budget_s())      # the other visitor's run; then look again (or make it)
        try:
            value = make()
        finally:
            with self._lock:
                self._making.pop(key).set()
        nbytes = size(value)
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, nbytes)
                self._held += nbytes
            while self._held > self.max_bytes and len(self._items) > 1:
                self._held -= self._items.popitem(last=False)[1][1]
        return value

    @property
    def held(self) -> int:
        return self._held

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._held = 0


RESULTS = Results()


def _payload_bytes(value: Any) -> int:
    """A result's size for the cache's bound: the JSON the page sends is close to what it holds."""
    import pickle  # noqa: PLC0415

    return len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _key(name: str, scenario: sim.Scenario, args: tuple) -> tuple:
    return (name, scenario, args) if _arch() is None else (name, scenario, args, _arch())


def _view(fn: Callable[..., Any], scenario: sim.Scenario, *args: Any) -> Any:
    check(scenario)
    return RESULTS.get(_key(fn.__name__, scenario, args), lambda: _compute(fn, scenario, *args, session=session()),
                       _payload_bytes)


# ---- what pages call ----------------------------------------------------------------------------------
_rest_gate = threading.Semaphore(1)


def player(scenario: sim.Scenario, first_from_min: float | None = None, rest: bool = False) -> dict:
    """The Explainer's player data. `first_from_min`: the switch was flipped at that minute — give
    the next FIRST_MINUTES at once (marked partial) unless the whole run is as quick to get. `rest`:
    the player has those and asks for the whole run (one rest at a time, after others' first minutes)."""
    whole = _key("player_view", scenario, (True,))
    if first_from_min is not None and not rest:
        until = first_from_min + FIRST_MINUTES
        if whole not in RESULTS and until < scenario.duration_min - FIRST_MINUTES:
            part = _view(player_view, scenario.replace(duration_min=until), False)
            return dict(part, partial=True, total_steps=scenario.steps + 1)
    if not rest or whole in RESULTS:
        return _view(player_view, scenario, True)
    # Simulations share one core here (the GIL): 30 rests at once would slow every visitor's first
    # minutes to the pace of the slowest; waiting threads take no CPU, so those go first.
    held = _rest_gate.acquire(timeout=guard.budget_s())   # never wait longer than a run may take
    try:
        with guard.background():
            return _view(player_view, scenario, True)
    finally:
        if held:
            _rest_gate.release()


def lab(scenario: sim.Scenario) -> dict:
    return _view(lab_view, scenario)


def compare(scenario: sim.Scenario) -> dict:
    return _view(compare_view, scenario)


def csv(scenario: sim.Scenario, what: str) -> Callable[[], str]:
    """A callable for a download button: the CSV is made when the visitor asks for it (not kept)."""
    def make() -> str:
        check(scenario)
        return _compute(csv_view, scenario, what, session=session())
    return make


def timeline(scenario: sim.Scenario) -> sim.Timeline:
    """A whole Timeline, made here (the story's questions and the teacher's notes read it)."""
    check(scenario)
    chosen = architecture.current()
    graph = chosen.graph if chosen is not None else None
    with _readying(graph is not None and compiled.wanted(graph)):
        return RESULTS.get(_key("timeline", scenario, ()), lambda: guard.run_here(scenario, graph),
                           lambda tl: tl.approx_bytes())


def derived(key: Any, make: Callable[[], Any]) -> Any:
    """Something a page computes only from the runner's runs (a story chapter's view, the teacher's
    numbers), kept with them for every visitor, under the same bound in bytes."""
    arch = _arch()
    return RESULTS.get(("derived",) + tuple(key) + ((arch,) if arch is not None else ()), make, _payload_bytes)


def challenge_best() -> Any:
    """The best plan the model finds for the challenge (sim.challenge.search): ~25 s once per server
    process, then kept for everyone (simultaneous askers wait for the one search)."""
    return derived(("challenge_best",), lambda: challenge.search(architecture.graph()))


def challenge_card(scenario: sim.Scenario) -> Any:
    """The outcome card's figures of one plan (sim.challenge.card), from the run everyone shares."""
    return derived(("challenge_card", scenario), lambda: challenge.card(timeline(scenario)))


def experiment_estimate(base: sim.Scenario, knob: str, values: Sequence[float], seeds: Sequence[int]) -> float:
    return sum(estimate_s(point_scenario(base, knob, v, sd)) for v in values for sd in seeds)


def experiment(base: sim.Scenario, knob: str, values: Sequence[float], seeds: Sequence[int],
               progress: Callable[[int, int], None] | None = None,
               had_result: bool = False) -> tuple[SweepResult, str]:
    """An experiment (sim.sweep, the one sweep engine), refused up front if its runs would take more
    than EXPERIMENT_BUDGET_S; each run in the worker under its own budget. Returns (the good points,
    "" or a message naming the runs that failed)."""
    for v in values[:1]:
        check(point_scenario(base, knob, v, int(seeds[0])))
    need = experiment_estimate(base, knob, values, seeds)
    if need > EXPERIMENT_BUDGET_S:
        raise Refused(guard.text("experiment_too_big", need=f"{need:.0f}", limit=f"{EXPERIMENT_BUDGET_S:.0f}"))
    who, chosen = session(), architecture.current()

    def point(s: sim.Scenario) -> Any:
        got, why = guard.attempt(lambda: _compute(point_outcome, s, session=who, chosen=chosen))
        if got is None:
            raise RuntimeError(why)
        return got

    result = sweep(base, knob, list(values), list(seeds), point=point, progress=progress,
                   max_failures=EXPERIMENT_MAX_FAILURES)
    return result, guard.sweep_message(result, had_result)


__all__ = ["player", "lab", "compare", "csv", "timeline", "derived", "challenge_best", "challenge_card", "experiment", "experiment_estimate", "check",
           "estimate_s", "Refused", "RESULTS", "MAX_STEPS", "FIRST_MINUTES", "EXPERIMENT_BUDGET_S"]
