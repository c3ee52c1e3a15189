"""Blast radius (sim/blast.py): the static prediction, checked against an independent networkx
computation on every example, and the run's order of failures next to it."""

import networkx as nx
import pytest

import sim
from sim.architecture import ARCH_DIR, load_architecture
from sim.blast import blast_radius, can_stop, compare
from sim.interventions import parse

EXAMPLES = sorted(p.name for p in ARCH_DIR.glob("*.toml"))


def independent(g: nx.DiGraph, node: str) -> set[str]:
    """Features whose requests can reach the node: a per-feature subgraph of the edges they use."""
    out = set()
    for f, d in g.nodes(data=True):
        if d["kind"] != "feature":
            continue
        used = nx.DiGraph()
        used.add_nodes_from(g)
        used.add_edges_from((u, v) for u, v, e in g.edges(data=True)
                            if not (e["kind"] == "call" and e.get("features") and f not in e["features"]))
        if nx.has_path(used, f, node):
            out.add(f)
    return out


@pytest.mark.parametrize("file", EXAMPLES)
def test_every_node_s_blast_radius_matches_networkx(file):
    g = load_architecture(ARCH_DIR / file)
    for node in g:
        got = blast_radius(g, node)
        assert {d.feature for d in got} == independent(g, node), node
        for d in got:
            assert d.path[0] == d.feature and d.path[-1] == node
            assert all(g.has_edge(u, v) for u, v in zip(d.path, d.path[1:]))


def test_routing_is_respected_and_optional_paths_are_marked():
    g = sim.default_architecture()
    login_only = {n for n, d in g.nodes(data=True) if d.get("role") in ("login", "upload")}
    store = next(n for n, d in g.nodes(data=True) if d["kind"] == "datastore" and
                 {x.feature for x in blast_radius(g, n)} == login_only)
    assert store
    feed = next(n for n, d in g.nodes(data=True) if d.get("role") == "feed")
    optional = [d for n in g for d in blast_radius(g, n) if d.feature == feed and not d.required]
    assert optional, "the feed's ranking call is fail-silent: its paths through it are optional"


def test_the_run_shows_failures_in_order_next_to_the_prediction():
    g = load_architecture(ARCH_DIR / "three_tier.toml")
    tl = sim.run(sim.Scenario(duration_min=60, actions=(parse("node_stop node=database start_min=20 end_min=30"),)), g)
    rows = {r.feature: r for r in compare(g, "database", tl)}
    assert rows["checkout"].verdict == "predicted, failed" and rows["checkout"].failed_s == 1200
    assert rows["checkout"].recovered_s is not None and rows["checkout"].recovered_s > 1800
    assert rows["browse"].verdict == "predicted, kept working"      # the warm cache absorbs it
    assert can_stop(g, "database") and not can_stop(g, "ups")


def test_the_run_shows_what_the_static_view_misses():
    """Stopping the three-tier cache: only browsing depends on it, but the database it shielded is
    overloaded by the misses, and checkout (no path to the cache) fails too."""
    g = load_architecture(ARCH_DIR / "three_tier.toml")
    assert {d.feature for d in blast_radius(g, "cache")} == {"browse"}
    tl = sim.run(sim.Scenario(duration_min=60, actions=(parse("node_stop node=cache start_min=10 end_min=20"),)), g)
    rows = {r.feature: r for r in compare(g, "cache", tl)}
    assert rows["browse"].verdict == "predicted, failed"
    assert rows["checkout"].verdict == "not predicted, failed" and rows["checkout"].failed_s >= rows["browse"].failed_s
