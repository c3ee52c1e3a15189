"""Recent runs kept with their checkpoints, so that a run whose past is theirs starts late.

The explainer's classroom case: 30 visitors watch the same run and flip the switch at minutes 10
to 40. Each flip is a new scenario, but its past is the watched run's; from the latest checkpoint
before the flip, its first minutes cost ~20 simulated minutes instead of up to 60. The rest of a
flipped run then starts from the end of its first minutes. Results are exactly those of a full run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import networkx as nx

from .architecture import default_architecture
from .checkpoint import Checkpoint, same_past_until
from .engine import run
from .scenario import Scenario
from .timeline import Timeline

RUNS_KEPT = 12          # a 3-hour run is ~2.7 MB and its 35 checkpoints ~1 MB: bounded memory per process
STEPS_KEPT = 12 * 1081  # and at most as many steps as 12 such runs (a Lab run may last 24 hours)
EVERY_MIN = 5.0         # a checkpoint every 5 simulated minutes (~30 kB each on the default graph)


class Store:
    """A thread-safe LRU of runs on the default architecture with their checkpoints, bounded in
    runs and in steps (the newest run is always kept)."""

    def __init__(self, size: int = RUNS_KEPT, every_min: float = EVERY_MIN, max_steps: int = STEPS_KEPT) -> None:
        self.size, self.every_min, self.max_steps = size, every_min, max_steps
        self._runs: OrderedDict[Scenario, Timeline] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, scenario: Scenario, *, deadline: float | None = None) -> Timeline:
        """sim.run(scenario), started from the best checkpoint kept; the run is kept in turn."""
        every = max(1, round(self.every_min * 60.0 / scenario.step_s))
        tl = run(scenario, deadline=deadline, checkpoint_every=every, resume=self.find(scenario))
        with self._lock:
            self._runs[scenario] = tl
            self._runs.move_to_end(scenario)
            steps = sum(len(kept.t_s) for kept in self._runs.values())
            while len(self._runs) > self.size or (steps > self.max_steps and len(self._runs) > 1):
                steps -= len(self._runs.popitem(last=False)[1].t_s)
        return tl

    def find(self, scenario: Scenario, graph: nx.DiGraph | None = None) -> tuple[Timeline, Checkpoint] | None:
        """The kept run and checkpoint latest in simulated time whose past is the scenario's."""
        graph = graph if graph is not None else default_architecture()
        with self._lock:
            kept = list(self._runs.items())
        best: tuple[Timeline, Checkpoint] | None = None
        for key, tl in kept:
            if tl.graph is not graph:
                continue
            until = same_past_until(key, scenario)
            usable = [c for c in tl.checkpoints if c.t_s < until and c.step < scenario.steps]
            if usable and (best is None or usable[-1].step > best[1].step):
                best = (tl, usable[-1])
        if best is not None:
            with self._lock:
                if best[0].scenario in self._runs:
                    self._runs.move_to_end(best[0].scenario)     # a run others start from stays kept
        return best

    def __len__(self) -> int:
        return len(self._runs)


__all__ = ["Store", "RUNS_KEPT", "STEPS_KEPT", "EVERY_MIN"]
