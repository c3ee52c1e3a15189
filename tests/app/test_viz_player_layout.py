"""The pure rendering helpers behind the player: stable layout, compact and safe payload."""

from __future__ import annotations

import json

import networkx as nx

import sim
from viz.layout import layered_layout, layers
from viz.player import build_payload, digit_rows, keyframes, quantise, quantise_all, safe_json


def test_layout_is_stable_and_layered():
    g = sim.default_architecture()
    a, b = layered_layout(g), layered_layout(g.copy())
    assert a == b
    assert len(set(a.values())) == len(a)  # no two nodes on the same spot
    col = layers(g)
    kinds = nx.get_node_attributes(g, "kind")
    last = max(col.values())
    assert all(col[n] == last for n, k in kinds.items() if k == "feature")
    assert all(col[n] < last for n, k in kinds.items() if k != "feature")
    for u, v in g.edges:  # every dependency sits left of its dependent
        assert a[v][0] < a[u][0], (u, v)


def test_layout_survives_a_cycle():
    g = nx.DiGraph([("a", "b"), ("b", "a"), ("c", "a")])
    nx.set_node_attributes(g, "service", "kind")
    assert len(layered_layout(g)) == 3


def test_payload_is_compact_deterministic_and_safe():
    tl = sim.run(sim.Scenario())
    p = build_payload(tl)
    assert p == build_payload(tl)
    assert p["steps"] == len(tl.t_s)
    assert len(p["node_frames"]) < len(tl.t_s)
    assert all(len(row) == len(p["nodes"]) for _, row in p["node_frames"])
    assert all(len(row) == len(p["edges"]) and row.isdigit() for _, row in p["edge_frames"])
    # the run without its charts: ~35 KB of graph, frames and events, ~23 KB of captions (causes every few
    # minutes while users are affected), ~36 KB of "What users see" (issue 13)
    assert len(safe_json({k: v for k, v in p.items() if k not in ("charts", "datasets")})) < 90_000


def test_text_from_user_files_cannot_break_out_of_a_script():
    g = sim.default_architecture().copy()
    g.nodes["auth"]["label"] = "</script><img src=x onerror=alert(1)>"
    tl = sim.run(sim.Scenario(), g)
    text = safe_json(build_payload(tl))
    assert "</" not in text and "<img" not in text
    assert json.loads(text)["nodes"][[n for n in g].index("auth")]["label"].startswith("</script>")


def test_quantise_and_keyframes():
    assert [quantise(x) for x in (0, 0.001, 0.01, 0.5, 1.0, float("nan"))] == [0, 0, 1, 4, 9, 0]
    assert keyframes(["00", "00", "10", "10", "00"]) == [[0, "00"], [2, "10"], [4, "00"]]
    shares = [[i / 97 for i in range(98)], [0.0049, 0.005, 0.06, 0.94, float("nan")] + [0] * 93]
    assert quantise_all(shares).tolist() == [[quantise(x) for x in row] for row in shares]
    assert digit_rows([[0, 3, 9], [4, 4, 0]]) == ["039", "440"]


def test_one_symbol_means_one_state_in_the_legend_and_the_labels():
    """Issue 14: the legend said ▲ = degraded while node labels said "▲ overloaded". A node's label
    icon, its shape and the legend's glyph must name the same state."""
    import re
    from pathlib import Path

    player = Path(__file__).resolve().parents[2] / "assets" / "player"
    style = re.findall(r'\["(\w+)", "#\w+", "#\w+", "(.)"\]', (player / "player.js").read_text(encoding="utf-8"))
    legend = re.findall(r'aria-hidden="true">(.)</span> (\w+)</li>', (player / "player.html").read_text(encoding="utf-8"))
    assert [s for s in sim.STATES] == [name for _, name in legend]
    glyph = {"dot": "●", "triangle": "▲", "diamond": "◆", "square": "■", "star": "★"}
    for (shape, icon), (shown, name) in zip(style, legend):
        assert icon == glyph[shape] == shown, f"{name}: shape {shape}, label icon {icon}, legend {shown}"
