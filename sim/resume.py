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

RUNS_KEPT = 12          # a 3-hour run holds ~2 MB with its 35 checkpoints: bounded memory per process
BYTES_KEPT = 96 * 2**20  # and at most this much in all (Timeline.approx_bytes; a long Lab run is ~20 MB)
EVERY_MIN = 5.0         # a checkpoint every 5 simulated minutes (~30 kB each on the default graph)


class Store:
    """A thread-safe LRU of runs on the default architecture with their checkpoints, bounded in
    runs and in bytes (the newest run is always kept)."""

    def __init__(self, size: int = RUNS_KEPT, every_min: float = EVERY_MIN, max_bytes: int = BYTES_KEPT) -> None:
        self.size, self.every_min, self.max_bytes = size, every_min, max_bytes
        self._runs: OrderedDict[Scenario, Timeline] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, scenario: Scenario, *, deadline: float | None = None) -> Timeline:
        """sim.run(scenario), started from the best checkpoint kept; the run is kept in turn."""
        every = max(1, round(self.every_min * 60.0 / scenario.step_s))
        tl = run(scenario, deadline=deadline, checkpoint_every=every, resume=self.find(scenario))
        with self._lock:
            self._runs[scenario] = tl
            self._runs.move_to_end(scenario)
            held = sum(kept.approx_bytes() for kept in self._runs.values())
            while len(self._runs) > self.size or (held > self.max_bytes and len(self._runs) > 1):
                held -= self._runs.popitem(last=False)[1].approx_bytes()
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

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()


__all__ = ["Store", "RUNS_KEPT", "BYTES_KEPT", "EVERY_MIN"]
