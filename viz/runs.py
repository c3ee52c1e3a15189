"""One scenario → everything a page shows of it, in one call of plain arguments.

Module-level functions of a scenario (a frozen dataclass) that return plain dicts, so that a worker
process can run them (ui/pool.py) and send back only what the page draws, never a Timeline with its
graph. Deterministic: the same scenario gives the same dict here or in a worker, started from a kept
checkpoint or not.
"""

from __future__ import annotations

from typing import Any

import sim
from sim.outcomes import outcome
from sim.resume import Store

from .player import build_payload

# Runs made in this process, kept with checkpoints: a flip's run starts from the watched run's state
# at the flip (sim/resume.py). One per process — the worker's, or the server's when it runs here.
RUNS = Store()


def player_view(scenario: sim.Scenario, charts: bool = True, *, deadline: float | None = None) -> dict[str, Any]:
    """The player's payload of one run; `charts=False` leaves the charts out (the first minutes
    after a flip are drawn on the graph at once, the charts wait for the whole run)."""
    return _payload(RUNS.run(scenario, deadline=deadline), charts)


def _payload(tl: sim.Timeline, charts: bool) -> dict[str, Any]:
    specs = None
    if charts:
        from .charts import chart_specs  # noqa: PLC0415 — pandas and Altair only where a chart is made
        specs = chart_specs(tl)
    return build_payload(tl, specs, [(c.t_s, c.text) for c in sim.captions(tl)])


def lab_view(scenario: sim.Scenario, *, deadline: float | None = None) -> dict[str, Any]:
    """What the Lab shows of one run: the player's payload, outcomes, summary, CSVs and export specs."""
    from .whatif import export_specs  # noqa: PLC0415

    tl = RUNS.run(scenario, deadline=deadline)
    return {
        "payload": _payload(tl, charts=True),
        "outcome": outcome(tl),
        "summary": sim.summary(tl),
        "metrics_csv": tl.metrics_csv(),
        "events_csv": tl.events_csv(),
        "export": export_specs(tl),
    }


def warm() -> bool:
    """Imports and first-call costs paid once, before a worker takes a visitor's run — and the run
    most visitors watch before they flip the switch, kept with its checkpoints for their flips."""
    from .charts import chart_specs  # noqa: PLC0415

    chart_specs(RUNS.run(sim.FREE_PLAY))
    return True


__all__ = ["player_view", "lab_view", "warm"]
