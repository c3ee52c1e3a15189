"""Blast radius: which user features depend on a node, before running — and what a run then shows.

The static view follows the graph's edges (dependent → dependency: calls, fallbacks, `needs`, power)
backwards from the node to every feature that reaches it, with one shortest path each. The run's
view reads each feature's success over time (`success_<feature>`) and says when it stopped being
healthy and when it was healthy again. Side by side they show what the graph alone cannot: a path
that a cache, a fallback or an optional call absorbs, and features with no path at all that fail
anyway because retries and overload reach them through shared callers.

Pure: networkx and the Timeline only.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .interventions import SERVER_KINDS
from .simulation import HEALTHY_SUCCESS
from .timeline import Timeline


@dataclass(frozen=True)
class Dependent:
    """A feature that depends on the node: one shortest path (feature first, the node last), and
    whether every call on it is required (False: a fail-silent call or a fallback is on the way)."""

    feature: str
    path: tuple[str, ...]
    required: bool


def features(g: nx.DiGraph) -> list[str]:
    return [n for n, d in g.nodes(data=True) if d.get("kind") == "feature"]


def blast_radius(g: nx.DiGraph, node: str) -> list[Dependent]:
    """Every feature that depends on `node` directly or through others, nearest first (then by id).
    A feature's requests follow only the calls meant for it (a call's `for`), then every `needs`
    and power edge of the nodes they reach. A feature itself is its own blast radius."""
    if node not in g:
        raise KeyError(node)
    out = []
    for f in features(g):
        path = _path(g, f, node)
        if path is not None:
            out.append(Dependent(f, path, all(_required(g, u, v) for u, v in zip(path, path[1:]))))
    return sorted(out, key=lambda d: (len(d.path), d.feature))


def _path(g: nx.DiGraph, feature: str, target: str) -> tuple[str, ...] | None:
    """A shortest path from the feature to the target over the edges its requests use (BFS)."""
    came: dict[str, str | None] = {feature: None}
    frontier = [feature]
    while frontier and target not in came:
        nxt = []
        for u in frontier:
            for v, d in g.adj[u].items():
                if v in came:
                    continue
                only = d.get("features") or ()
                if d.get("kind") == "call" and only and feature not in only:
                    continue            # a call routed to other features' requests only
                came[v] = u
                nxt.append(v)
        frontier = nxt
    if target not in came:
        return None
    path = [target]
    while came[path[-1]] is not None:
        path.append(came[path[-1]])   # type: ignore[arg-type]
    return tuple(reversed(path))


def _required(g: nx.DiGraph, u: str, v: str) -> bool:
    d = g.edges[u, v]
    return d.get("kind") != "fallback" and bool(d.get("required", True))


def can_stop(g: nx.DiGraph, node: str) -> bool:
    """Whether a `node_stop` action may target this node (it runs servers)."""
    return g.nodes[node].get("kind") in SERVER_KINDS


@dataclass(frozen=True)
class Observed:
    """One feature in a run: when it first stopped being healthy (success under HEALTHY_SUCCESS), when
    it was healthy again for good (None: not by the end), and its lowest success."""

    feature: str
    failed_s: float | None
    recovered_s: float | None
    lowest: float


def observed(tl: Timeline, after_s: float = 0.0) -> list[Observed]:
    """Every feature of the run, those that failed first in the order they failed."""
    out = []
    for f in features(tl.graph):
        series = tl.metrics.get(f"success_{f}")
        if series is None:
            continue
        pairs = [(t, v) for t, v in zip(tl.t_s, series) if t >= after_s and v == v]
        bad = [i for i, (_, v) in enumerate(pairs) if v < HEALTHY_SUCCESS]
        failed = pairs[bad[0]][0] if bad else None
        recovered = None
        if bad and bad[-1] + 1 < len(pairs):
            recovered = pairs[bad[-1] + 1][0]
        lowest = min((v for _, v in pairs), default=1.0)
        out.append(Observed(f, failed, recovered, lowest))
    never = float("inf")
    return sorted(out, key=lambda o: (o.failed_s if o.failed_s is not None else never, o.feature))


@dataclass(frozen=True)
class Row:
    """A feature in the comparison: predicted (its path, or None) and what happened."""

    feature: str
    path: tuple[str, ...] | None
    required: bool
    failed_s: float | None
    recovered_s: float | None
    lowest: float

    @property
    def verdict(self) -> str:
        if self.path is not None and self.failed_s is not None:
            return "predicted, failed"
        if self.path is not None:
            return "predicted, kept working"
        if self.failed_s is not None:
            return "not predicted, failed"
        return "unaffected"


def compare(g: nx.DiGraph, node: str, tl: Timeline, after_s: float = 0.0) -> list[Row]:
    """The prediction next to the run: features that failed in the order they failed, then those
    predicted that kept working, then the rest."""
    predicted = {d.feature: d for d in blast_radius(g, node)}
    rows = []
    for o in observed(tl, after_s):
        d = predicted.get(o.feature)
        rows.append(Row(o.feature, d.path if d else None, d.required if d else True,
                        o.failed_s, o.recovered_s, o.lowest))
    order = {"predicted, failed": 0, "not predicted, failed": 0, "predicted, kept working": 1, "unaffected": 2}
    return sorted(rows, key=lambda r: (order[r.verdict], r.failed_s if r.failed_s is not None else 0.0))


__all__ = ["Dependent", "Observed", "Row", "blast_radius", "can_stop", "observed", "compare", "features"]
