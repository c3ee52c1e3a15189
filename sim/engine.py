"""run(scenario) → Timeline: a short loop over a `Simulation` (sim.simulation), with the time budget,
checkpoints and resuming that the pages need.
"""

from __future__ import annotations

import time

import networkx as nx

from .architecture import default_architecture
from .checkpoint import Checkpoint, same_past_until
from .scenario import Scenario
from .simulation import CONSUMER_HEADROOM, SAMPLE_VIEWS_PER_S, USD_PER_VIEW, VIEWS_START, Simulation
from .timeline import Timeline, clock

DEADLINE_EVERY = 32                 # steps between two looks at the clock when a deadline is set


class OverBudget(RuntimeError):
    """A run passed its `deadline` and was abandoned (a thread cannot be killed, so the run stops itself)."""


def run(scenario: Scenario, graph: nx.DiGraph | None = None, *, deadline: float | None = None,
        checkpoint_every: int = 0, resume: tuple[Timeline, Checkpoint] | None = None,
        node_metrics: bool = False) -> Timeline:
    """Simulate one scenario on an architecture (the default one if None). Deterministic.

    `deadline` (a `time.monotonic()` value) makes the run raise `OverBudget` once it is passed; it
    never changes a run that finishes in time. `checkpoint_every` > 0 keeps a Checkpoint every that
    many steps in `Timeline.checkpoints`. `resume=(timeline, checkpoint)` starts from a checkpoint
    of an earlier run on the same graph whose past is this scenario's (sim.checkpoint): the result
    is the same as without it, only sooner. `node_metrics` keeps per-node numbers for
    `Timeline.node_metrics_csv`.
    """
    g = graph if graph is not None else default_architecture()
    sim = Simulation(scenario, g, node_metrics=node_metrics)
    if deadline is not None:                # compiling the step (once per process) is not the run's cost
        deadline += sim.model.prepare_s
    checkpoints: list[Checkpoint] = []
    if resume is not None:
        base, cp = resume
        if base.graph is not g or not any(c is cp for c in base.checkpoints):
            raise ValueError("resume: the checkpoint is not of a run on this architecture")
        if not cp.step < scenario.steps or not cp.t_s < same_past_until(base.scenario, scenario):
            raise ValueError(f"resume: the scenario's past differs from the run's before {clock(cp.t_s)}")
        if node_metrics and not base.node_rows:
            raise ValueError("resume: the run resumed from kept no node metrics")
        sim.restore(cp, base)
        checkpoints = [c for c in base.checkpoints if c.step <= cp.step]
    steps = scenario.steps
    while sim.st.k < steps:
        k = sim.st.k + 1
        if deadline is not None and k % DEADLINE_EVERY == 0 and time.monotonic() > deadline:
            raise OverBudget(f"stopped at simulated {clock(sim.clock.now)} of {clock(steps * scenario.step_s)}")
        sim.step()
        if checkpoint_every and k and k % checkpoint_every == 0 and k < steps:
            checkpoints.append(sim.snapshot())
    return sim.timeline(checkpoints)


__all__ = ["run", "clock", "OverBudget", "Simulation", "CONSUMER_HEADROOM", "SAMPLE_VIEWS_PER_S", "USD_PER_VIEW",
           "VIEWS_START"]
