"""Blast radius: which user features depend on a node, before running — and what a run then shows.

The static view follows the graph's edges (dependent → dependency: calls, fallbacks, `needs`, power)
backwards from the node to every feature that reaches it, with one shortest path each. The run's
view reads each feature's success over time (`success_<feature>`) and says when it stopped being
healthy and when it was healthy again. Side by side they show what the graph alone cannot: a path
that a cache, a fallback or an optional call absorbs, and features with no path at all that fail
anyway because retries and overload reach them through shared callers.

The same view works for a hall (every server it powers: a hall losing power takes them all, while a
node that also runs in another hall keeps those servers) and for an intervention (the union of the
blast radii of the nodes it touches: a node, a call's callee as seen through that call, a hall, the
utility feed, a feature's demand).

Pure: networkx, the Timeline and the Intervention only.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .interventions import SERVER_KINDS, Intervention
from .simulation import HEALTHY_SUCCESS
from .timeline import Timeline


@dataclass(frozen=True)
class Dependent:
    """A feature that depends on the node: one shortest path (feature first, the node last), and
    whether every call on it is required (False: a fail-silent call or a fallback is on the way)."""

    feature: str
    path: tuple[str, ...]
    required: bool
    # nodes on the path that keep servers elsewhere (a hall's blast radius: they may keep serving)
    partial: tuple[str, ...] = ()


def features(g: nx.DiGraph) -> list[str]:
    return [n for n, d in g.nodes(data=True) if d.get("kind") == "feature"]


def blast_radius(g: nx.DiGraph, node: str) -> list[Dependent]:
    """Every feature that depends on `node` directly or through others, nearest first (then by id).
    A feature's requests follow only the calls meant for it (a call's `for`), then every `needs`
    and power edge of the nodes they reach. A feature itself is its own blast radius."""
    if node not in g:
        raise KeyError(node)
    return radius_of(g, (node,))


def radius_of(g: nx.DiGraph, targets: tuple[str, ...] | list[str]) -> list[Dependent]:
    """Every feature that depends on any of the targets (the union of their blast radii), each with
    one shortest path to the nearest of them; nearest first (then by id)."""
    goal = set(targets)
    missing = goal - set(g)
    if missing:
        raise KeyError(sorted(missing)[0])
    out = []
    for f in features(g):
        path = _path(g, f, goal)
        if path is not None:
            out.append(Dependent(f, path, all(_required(g, u, v) for u, v in zip(path, path[1:]))))
    return sorted(out, key=lambda d: (len(d.path), d.feature))


def _path(g: nx.DiGraph, feature: str, targets: str | set[str]) -> tuple[str, ...] | None:
    """A shortest path from the feature to a target over the edges its requests use (BFS)."""
    goal = {targets} if isinstance(targets, str) else targets
    came: dict[str, str | None] = {feature: None}
    frontier = [feature]
    found = feature if feature in goal else None
    while frontier and found is None:
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
                if v in goal and found is None:
                    found = v
        frontier = nxt
    if found is None:
        return None
    path = [found]
    while came[path[-1]] is not None:
        path.append(came[path[-1]])   # type: ignore[arg-type]
    return tuple(reversed(path))


def _required(g: nx.DiGraph, u: str, v: str) -> bool:
    d = g.edges[u, v]
    return d.get("kind") != "fallback" and bool(d.get("required", True))


def halls(g: nx.DiGraph) -> dict[str, str]:
    """hall id → its label."""
    return {h: str(d.get("label", h)) for h, d in g.graph.get("halls", {}).items()}


def hall_nodes(g: nx.DiGraph, hall: str) -> list[str]:
    """The nodes with servers in the hall (its racks), in the file's order."""
    return [n for n, d in g.nodes(data=True) if hall in (d.get("halls") or ())]


def hall_radius(g: nx.DiGraph, hall: str) -> list[Dependent]:
    """Every feature whose requests reach a server in the hall, with a path that ends at the hall's
    power (its PDU). A feature reaching a node that runs only in this hall is predicted to lose it
    all; one that reaches only nodes that also run in other halls gets `partial` (those nodes keep
    the servers elsewhere, and may keep serving)."""
    pdus = g.graph.get("pdu_of_hall", {})
    if hall not in pdus:
        raise KeyError(hall)
    inside = hall_nodes(g, hall)
    only_here = tuple(n for n in inside if tuple(g.nodes[n].get("halls") or ()) == (hall,))
    elsewhere = tuple(n for n in inside if n not in only_here)
    out = {}
    for targets, partial in ((only_here, False), (elsewhere, True)):
        if not targets:
            continue
        for d in radius_of(g, targets):
            if d.feature in out:
                continue
            path = d.path + (pdus[hall],)
            out[d.feature] = Dependent(d.feature, path, d.required, (d.path[-1],) if partial else ())
    return sorted(out.values(), key=lambda d: (bool(d.partial), len(d.path), d.feature))


def touched(g: nx.DiGraph, a: Intervention) -> tuple[str, ...]:
    """The nodes an intervention acts on directly: its node, the callee of its call, the PDU of its
    hall, the utility feed, its feature (every feature for a surge of all demand); none for the
    policies that act everywhere at once (shedding, admission, retries, breakers, warm caches)."""
    if a.kind in ("node_stop", "capacity_loss", "add_capacity", "failover"):
        return (a.node,) if a.node in g else ()
    if a.kind == "latency":
        callee = (a.call or "").partition(">")[2]
        return (callee,) if callee in g else ()
    if a.kind == "hall_power":
        pdu = g.graph.get("pdu_of_hall", {}).get(a.hall)
        return (pdu,) if pdu else ()
    if a.kind == "power":
        utility = g.graph.get("facility", {}).get("utility")
        return (utility,) if utility else ()
    if a.kind == "load_surge":
        return (a.feature,) if a.feature is not None else tuple(features(g))
    return ()


def action_radius(g: nx.DiGraph, a: Intervention) -> list[Dependent]:
    """The blast radius of an intervention: the union of the blast radii of the nodes it touches. A
    latency on one call reaches only the features whose requests use that call; a hall, every
    feature that reaches its servers (hall_radius)."""
    if a.kind == "hall_power":
        return hall_radius(g, a.hall) if a.hall in g.graph.get("pdu_of_hall", {}) else []
    if a.kind == "latency":
        caller, _, callee = (a.call or "").partition(">")
        if not g.has_edge(caller, callee):
            return []
        out = []
        for d in radius_of(g, (caller,)):
            only = g.edges[caller, callee].get("features") or ()
            if g.edges[caller, callee].get("kind") == "call" and only and d.feature not in only:
                continue
            path = d.path + (callee,)
            out.append(Dependent(d.feature, path, d.required and _required(g, caller, callee)))
        return sorted(out, key=lambda d: (len(d.path), d.feature))
    nodes = touched(g, a)
    return radius_of(g, nodes) if nodes else []


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
    """The prediction for a node next to the run (compare_with)."""
    return compare_with(blast_radius(g, node), tl, after_s)


def compare_with(dependents: list[Dependent], tl: Timeline, after_s: float = 0.0) -> list[Row]:
    """A prediction (a node's, a hall's or an intervention's) next to the run: features that failed
    in the order they failed, then those predicted that kept working, then the rest."""
    predicted = {d.feature: d for d in dependents}
    rows = []
    for o in observed(tl, after_s):
        d = predicted.get(o.feature)
        rows.append(Row(o.feature, d.path if d else None, d.required if d else True,
                        o.failed_s, o.recovered_s, o.lowest))
    order = {"predicted, failed": 0, "not predicted, failed": 0, "predicted, kept working": 1, "unaffected": 2}
    return sorted(rows, key=lambda r: (order[r.verdict], r.failed_s if r.failed_s is not None else 0.0))


__all__ = ["Dependent", "Observed", "Row", "blast_radius", "radius_of", "hall_radius", "hall_nodes", "halls",
           "touched", "action_radius", "can_stop", "observed", "compare", "compare_with", "features"]
