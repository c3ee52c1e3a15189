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


# ---- a hall and an intervention ------------------------------------------------------------------
def independent_hall(g: nx.DiGraph, hall: str) -> set[str]:
    """Features whose requests reach any node with servers in the hall (networkx, per feature), not
    through the PDU's power edges that sim.blast follows."""
    racks = {n for n, d in g.nodes(data=True) if hall in (d.get("halls") or ())}
    out = set()
    for f, d in g.nodes(data=True):
        if d["kind"] != "feature":
            continue
        used = nx.DiGraph((u, v) for u, v, e in g.edges(data=True)
                          if e["kind"] != "power"
                          and not (e["kind"] == "call" and e.get("features") and f not in e["features"]))
        used.add_nodes_from(g)
        if nx.descendants(used, f) & racks:
            out.add(f)
    return out


@pytest.mark.parametrize("file", EXAMPLES)
def test_every_hall_s_blast_radius_matches_networkx(file):
    from sim.blast import hall_radius, halls

    g = load_architecture(ARCH_DIR / file)
    assert halls(g)
    for hall in halls(g):
        got = hall_radius(g, hall)
        assert {d.feature for d in got} == independent_hall(g, hall), hall
        pdu = g.graph["pdu_of_hall"][hall]
        for d in got:
            assert d.path[0] == d.feature and d.path[-1] == pdu
            assert all(g.has_edge(u, v) for u, v in zip(d.path, d.path[1:]))
            server = d.path[-2]
            assert hall in g.nodes[server]["halls"]
            # partial: every node of this hall the feature reaches also runs in another hall
            assert bool(d.partial) == (d.partial == (server,) and len(g.nodes[server]["halls"]) > 1)


def test_a_hall_shared_by_every_node_is_partial_and_the_run_shows_it():
    """Social video: hall A holds nodes that run only there and nodes spread over both halls."""
    from sim.blast import hall_nodes, hall_radius

    g = sim.default_architecture()
    spread = [n for n in hall_nodes(g, "A") if len(g.nodes[n]["halls"]) > 1]
    assert spread and len(spread) < len(hall_nodes(g, "A"))
    got = {d.feature: d for d in hall_radius(g, "A")}
    tl = sim.run(sim.Scenario(duration_min=40, actions=(parse("hall_power hall=A start_min=10 end_min=20"),)), g)
    assert min(tl.metrics["halls_powered"]) == 0.5                   # one of two halls dark
    assert any(m.label == "Hall A loses power (its PDU fails)" and m.t_s == 600 for m in tl.milestones)
    from sim.blast import compare_with

    rows = {r.feature: r for r in compare_with(list(got.values()), tl)}
    failed = {f for f, r in rows.items() if r.failed_s is not None}
    assert failed and failed <= set(got) | {f for f, r in rows.items() if r.verdict == "not predicted, failed"}
    assert all(r.failed_s >= 600 for r in rows.values() if r.failed_s is not None)


@pytest.mark.parametrize("action, nodes", [
    ("node_stop node=database start_min=10", ("database",)),
    ("capacity_loss node=cache fraction=0.5 start_min=10", ("cache",)),
    ("hall_power hall=A start_min=10", ("pdu",)),
    ("power start_min=10", ("utility",)),
    ("shed_load start_min=10", ()),
])
def test_an_intervention_touches_its_nodes_and_its_radius_is_their_union(action, nodes):
    from sim.blast import action_radius, radius_of, touched

    g = load_architecture(ARCH_DIR / "three_tier.toml")
    a = parse(action)
    got = touched(g, a)
    if a.kind == "hall_power":
        assert got == (g.graph["pdu_of_hall"]["A"],)
    elif a.kind == "power":
        assert got == (g.graph["facility"]["utility"],)
    else:
        assert got == nodes
    union = set().union(*(independent(g, n) for n in got)) if got else set()
    assert {d.feature for d in action_radius(g, a)} == union
    if got and a.kind != "hall_power":
        assert {d.feature for d in radius_of(g, got)} == union


def test_a_latency_reaches_only_the_features_that_use_its_call():
    from sim.blast import action_radius

    g = sim.default_architecture()
    for u, v, e in g.edges(data=True):
        if e["kind"] != "call":
            continue
        got = action_radius(g, parse(f"latency call={u}>{v} added_ms=500 start_min=10"))
        expect = {f for f in independent(g, u)
                  if not e.get("features") or f in e["features"]}
        assert {d.feature for d in got} == expect, (u, v)
        for d in got:
            assert d.path[-2:] == (u, v) and all(g.has_edge(x, y) for x, y in zip(d.path, d.path[1:]))


def test_hall_power_is_an_intervention_checked_against_the_architecture():
    from sim.interventions import target_problem

    g = load_architecture(ARCH_DIR / "three_tier.toml")
    a = parse("hall_power hall=A start_min=5 end_min=9")
    assert a.text() == "hall_power hall=A start_min=5 end_min=9" and target_problem(a, g) is None
    assert "halls: A" in target_problem(parse("hall_power hall=Z start_min=5"), g)
