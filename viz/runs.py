"""One scenario → everything a page shows of it, in one call of plain arguments.

Module-level functions of a scenario (a frozen dataclass) that return plain dicts, so that the
runner (ui/runner.py) can have them made in its worker process and receive only what the page
draws, never a Timeline with its graph. Deterministic: the same scenario gives the same dict here
or in a worker, started from a kept checkpoint or not. Each takes `deadline` (sim.run's time budget).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import networkx as nx

import sim
from sim.outcomes import Outcome, outcome
from sim.resume import Store

from .player import build_payload

# Runs made in this process, kept with checkpoints: a flip's run starts from the watched run's state
# at the flip (sim/resume.py). One per process — the worker's, or the server's when it runs here.
RUNS = Store()
# The architecture of the view being made (None: the built-in app), set by `on_architecture`.
_GRAPH: ContextVar[nx.DiGraph | None] = ContextVar("lights_out_view_graph", default=None)


@lru_cache(maxsize=8)
def graph_of(text: str) -> nx.DiGraph:
    """An architecture given as TOML text, parsed once per process (treat it as read-only)."""
    return sim.parse_architecture(text, source="the chosen architecture")


def on_architecture(scenario: sim.Scenario, text: str, view: str, *args: Any,
                    deadline: float | None = None) -> Any:
    """The view named `view` of this module, made on the architecture `text` (TOML) instead of the
    built-in app — how the runner passes a visitor's architecture to its worker (plain arguments)."""
    fn = _VIEWS[view]
    token = _GRAPH.set(graph_of(text))
    try:
        return fn(scenario, *args, deadline=deadline)
    finally:
        _GRAPH.reset(token)


def _run(scenario: sim.Scenario, deadline: float | None) -> sim.Timeline:
    """The built-in app's runs are kept with checkpoints (RUNS); another architecture's are not."""
    g = _GRAPH.get()
    if g is None:
        return RUNS.run(scenario, deadline=deadline)
    return sim.run(scenario, g, deadline=deadline)


def player_view(scenario: sim.Scenario, charts: bool = True, *, deadline: float | None = None) -> dict[str, Any]:
    """The player's payload of one run; `charts=False` leaves the charts out (the first minutes
    after a flip are drawn on the graph at once, the charts wait for the whole run)."""
    return _payload(_run(scenario, deadline), charts)


def _payload(tl: sim.Timeline, charts: bool) -> dict[str, Any]:
    specs = None
    if charts:
        from .charts import chart_specs  # noqa: PLC0415 — pandas and Altair only where a chart is made
        specs = chart_specs(tl)
    return build_payload(tl, specs, [(c.t_s, c.text) for c in sim.captions(tl)])


def lab_view(scenario: sim.Scenario, *, deadline: float | None = None) -> dict[str, Any]:
    """What the Lab shows of one run: the player's payload, outcomes, summary and export specs (the
    CSVs are made when a visitor downloads them: `csv_view`)."""
    from .whatif import export_specs  # noqa: PLC0415

    tl = _run(scenario, deadline)
    return {
        "payload": _payload(tl, charts=True),
        "outcome": outcome(tl),
        "summary": sim.summary(tl),
        "export": export_specs(tl),
    }


def compare_view(scenario: sim.Scenario, *, deadline: float | None = None) -> dict[str, Any]:
    """What Compare shows of one side: outcomes and every chart as a Vega-Lite spec (at most
    viz.charts.MAX_POINTS points a series, whatever the run's length)."""
    from .charts import CHART_IDS, milestone_key  # noqa: PLC0415
    from .whatif import page_chart  # noqa: PLC0415

    tl = _run(scenario, deadline)
    return {"outcome": outcome(tl), "milestones": milestone_key(tl),
            "charts": {cid: page_chart(tl, cid, numbered=True).to_dict() for cid in CHART_IDS}}


def csv_view(scenario: sim.Scenario, what: str, *, deadline: float | None = None) -> str:
    """One run's metrics or events as CSV text, made only when someone downloads it."""
    tl = _run(scenario, deadline)
    return tl.metrics_csv() if what == "metrics" else tl.events_csv()


def point_outcome(scenario: sim.Scenario, *, deadline: float | None = None) -> Outcome:
    """One point of an experiment: its outcomes only (not kept: a sweep's runs are not watched)."""
    return outcome(sim.run(scenario, _GRAPH.get(), deadline=deadline))


def warm() -> bool:
    """Imports and first-call costs paid once, before a worker takes a visitor's run — and the run
    most visitors watch before they flip the switch, kept with its checkpoints for their flips."""
    from .charts import chart_specs  # noqa: PLC0415

    chart_specs(RUNS.run(sim.FREE_PLAY))
    return True


_VIEWS = {f.__name__: f for f in (player_view, lab_view, compare_view, csv_view, point_outcome)}

__all__ = ["on_architecture", "graph_of", "player_view", "lab_view", "compare_view", "csv_view", "point_outcome", "warm"]
