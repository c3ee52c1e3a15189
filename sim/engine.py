"""TEMPORARY STUB — replaced by the real SimPy engine. Same signature and result type."""
from __future__ import annotations

import math

import networkx as nx

from .architecture import default_architecture
from .scenario import Scenario
from .timeline import DOWN, METRIC_NAMES, UP, Event, Milestone, Timeline, STATES


def run(scenario: Scenario, graph: nx.DiGraph | None = None) -> Timeline:
    g = graph if graph is not None else default_architecture()
    nodes = list(g.nodes)
    edges = [(u, v) for u, v, k in g.edges(data="kind")]
    flips = scenario.utility_flips()
    t_s, states, efail, events = [], [], [], []
    metrics = {m: [] for m in METRIC_NAMES}
    prev = None
    for i in range(scenario.steps + 1):
        t = i * scenario.step_s
        on = True
        for ft, fon in flips:
            if ft <= t:
                on = fon
        down = (not on)
        row = [DOWN if down and g.nodes[n]["kind"] != "feature" else UP for n in nodes]
        if prev is not None:
            for n, a, b in zip(nodes, prev, row):
                if a != b:
                    events.append(Event(t, n, STATES[b], "stub"))
        prev = row
        t_s.append(t)
        states.append(row)
        efail.append([1.0 if down else 0.0 for _ in edges])
        for m in METRIC_NAMES:
            metrics[m].append(0.0 if down else 1.0)
    return Timeline(scenario, g, t_s, metrics, nodes, states, edges, efail, events,
                    [Milestone(ft, "Power cut" if not fon else "Power restored") for ft, fon in flips])
