"""A stable layered layout for the dependency graph: facility on the left, user features on the right.

Why a fixed layout: the graph must not move while the player recolours it or when a new timeline
arrives, and a teacher's projector must show the same picture every time. So positions are a pure
function of the graph's structure (no randomness, no physics): the same architecture always gets
the same x/y.
"""

from __future__ import annotations

import networkx as nx

# Column order for kinds; a node's column is its kind's rank, pushed right of everything it needs.
KIND_RANK = {
    "facility": 0, "infrastructure": 1, "datastore": 2, "queue": 2, "cache": 3,
    "service": 4, "edge": 5, "feature": 6,
}
DX = 150.0   # between columns (vis-network units; labels wrap at 130)
DY = 100.0   # between rows (a node and its two label lines)


def layers(g: nx.DiGraph) -> dict[str, int]:
    """Column of each node: dependencies (edge targets) always sit left of their dependents.

    Longest-path layering over the dependency DAG, floored by the kind's rank so that kinds read as
    bands, and with every feature in the last column. Cycles (possible in user files) are broken by
    layering the condensation.
    """
    cond = nx.condensation(g)
    members = cond.graph["mapping"]  # node -> component id
    col: dict[int, int] = {}
    # Dependencies first: reverse topological order of the condensation (edges point to dependencies).
    for c in reversed(list(nx.lexicographical_topological_sort(cond, key=str))):
        nodes = cond.nodes[c]["members"]
        floor = max(_rank(g, n) for n in nodes)
        deps = [col[d] + 1 for d in cond.successors(c)]
        col[c] = max([floor, *deps])
    out = {n: col[members[n]] for n in g}
    # Facility power chain spreads over its own columns; shift everything else right of it.
    last = max(out.values(), default=0)
    for n, d in g.nodes(data=True):
        if d.get("kind") == "feature":
            out[n] = last
    # Drop empty columns so the picture has no gaps.
    used = sorted(set(out.values()))
    squeeze = {c: i for i, c in enumerate(used)}
    return {n: squeeze[c] for n, c in out.items()}


def _rank(g: nx.DiGraph, n: str) -> int:
    return KIND_RANK.get(g.nodes[n].get("kind", "service"), 4)


def layered_layout(g: nx.DiGraph, sweeps: int = 4) -> dict[str, tuple[float, float]]:
    """x/y per node id. Rows inside a column are ordered by the barycentre of their neighbours
    (a few deterministic sweeps, ties broken by id) to keep edges short and crossings few."""
    col = layers(g)
    n_cols = max(col.values(), default=0) + 1
    columns: list[list[str]] = [sorted(n for n in g if col[n] == c) for c in range(n_cols)]
    und = g.to_undirected(as_view=True)
    for sweep in range(sweeps):
        order = range(1, n_cols) if sweep % 2 == 0 else range(n_cols - 2, -1, -1)
        for c in order:
            pos = {n: i - (len(col_nodes) - 1) / 2 for col_nodes in columns for i, n in enumerate(col_nodes)}
            ref = c - 1 if sweep % 2 == 0 else c + 1

            def key(n: str, ref: int = ref, pos: dict = pos) -> tuple[float, str]:
                near = [pos[m] for m in und.neighbors(n) if col[m] == ref]
                return (sum(near) / len(near) if near else pos[n], n)

            columns[c] = sorted(columns[c], key=key)
    xy: dict[str, tuple[float, float]] = {}
    for c, col_nodes in enumerate(columns):
        for i, n in enumerate(col_nodes):
            xy[n] = (round(c * DX, 1), round((i - (len(col_nodes) - 1) / 2) * DY, 1))
    return xy
