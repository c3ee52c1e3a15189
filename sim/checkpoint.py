"""Checkpoints: the state of a run after one step, so that a run with the same past can start there.

Why: a flip of the explainer's switch at minute 40 makes a new scenario whose first 40 minutes are
those of the run being watched. Starting from a checkpoint of that run skips re-simulating them.
A checkpoint holds plain copies of the traffic model's, the classifier's and the story's state; the
SimPy processes of the facility and the servers are cheap and are replayed from minute 0 instead
(engine.run), so nothing here has to capture a generator. A resumed run equals a full one exactly
(tests/unit/test_resume.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .scenario import Scenario
from .timeline import Event, Milestone

# Fields that say when the utility feed flips, and how long the run lasts. Two scenarios that agree
# on everything else have the same past up to their first differing flip.
_TIMED = {"power_cut_min": None, "power_restored_min": None, "power_switch": (), "duration_min": 1.0}


@dataclass(frozen=True)
class Checkpoint:
    """A run's state after step `step` (time `t_s`). Immutable: resuming copies out of it."""

    step: int
    t_s: float
    model: dict[str, Any]
    classifier: dict[str, Any]
    story: dict[str, Any]
    events: tuple[Event, ...]
    milestones: tuple[Milestone, ...]


def same_past_until(a: Scenario, b: Scenario) -> float:
    """Simulated seconds up to which two scenarios feed a run the same inputs: the time of their
    first differing utility flip (inf if none); -inf when any other setting differs.

    A flip at time t is applied before the step at t, so a checkpoint is shared only if its
    t_s < this value.
    """
    if a.replace(**_TIMED) != b.replace(**_TIMED):
        return -math.inf
    fa, fb = a.utility_flips(), b.utility_flips()
    for x, y in zip(fa, fb):
        if x != y:
            return min(x[0], y[0])
    if len(fa) != len(fb):
        return (fa if len(fa) > len(fb) else fb)[min(len(fa), len(fb))][0]
    return math.inf


__all__ = ["Checkpoint", "same_past_until"]
