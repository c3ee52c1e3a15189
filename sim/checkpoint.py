"""Checkpoints: a run's state after one step, so that a run with the same past can start there.

Why: a flip of the explainer's switch at minute 40 makes a new scenario whose first 40 minutes are
those of the run being watched. Starting from a checkpoint of that run skips re-simulating them.
A checkpoint is the whole state of a `Simulation` (sim.simulation: every component's `st`, pickled);
the run's records up to it are taken from the run it belongs to. A resumed run equals a full one
exactly (tests/unit/test_resume.py).
"""

from __future__ import annotations

import dataclasses
import math

from .interventions import parted_at
from .scenario import Scenario
from .simulation import Checkpoint


def same_past_until(a: Scenario, b: Scenario) -> float:
    """Simulated seconds up to which two scenarios feed a run the same inputs: the moment their
    interventions first differ (inf if never); -inf when any other setting differs.

    An intervention at time t is applied before the step at t, so a checkpoint is shared only if its
    t_s < this value. A different duration does not change the past.
    """
    if dataclasses.replace(a, actions=(), duration_min=1.0) != dataclasses.replace(b, actions=(), duration_min=1.0):
        return -math.inf
    return parted_at(a.actions, b.actions)


__all__ = ["Checkpoint", "same_past_until"]
