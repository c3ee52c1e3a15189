"""Timeline (+ chart specs) → the compact data the browser player needs.

Why compact: the player animates in the browser (no server rerun per frame), so the whole run is
sent at once and re-sent after every flip of the power switch. A 4-hour run has 1,441 steps × ~36
nodes × ~95 edges; sending only the steps where something changed, as digit strings, keeps the
payload to a few KB besides the charts.

Text (labels, causes, captions) may come from user files. The player's JavaScript only ever puts it
in the page with textContent (never innerHTML), and `safe_json` makes the JSON safe to embed in a
<script> should a static export ever inline it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Any, Iterable

import networkx as nx
import numpy as np

from sim import STATES, Timeline, clock
from sim.operator import ACTIONS, taken, targets

from .layout import layered_layout
from .users import users_view

CURSOR_PARAM = "cursor_t"


def quantise(share: float) -> int:
    """Share of calls failing (0..1) → one digit 0..9; any visible failure is at least 1."""
    if share is None or not math.isfinite(share) or share < 0.005:
        return 0
    return max(1, min(9, round(share * 9)))


def digit_rows(matrix: Any) -> list[str]:
    """[step][column] small ints 0..9 → one digit string per step (numpy: ~1 ms for 1,441 × 95)."""
    codes = np.asarray(matrix, dtype=np.uint8)
    if codes.ndim != 2 or codes.size == 0:
        return ["" for _ in range(len(codes))]
    raw = (codes + ord("0")).tobytes()
    width = codes.shape[1]
    return [raw[i:i + width].decode("ascii") for i in range(0, len(raw), width)]


def as_matrix(rows: Any, dtype: Any) -> Any:
    """[step][column] → a 2-D numpy array. A list of lists goes through one flat iterator:
    np.asarray walks a list of float lists ~3× slower (~15 ms for a 3-hour run's edges)."""
    if isinstance(rows, (list, tuple)) and rows and isinstance(rows[0], (bytes, bytearray)):
        width = len(rows[0])          # a Timeline's node states: a bytes row per step
        if all(len(r) == width for r in rows):
            return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), width).astype(dtype)
    if isinstance(rows, np.ndarray) or not isinstance(rows, (list, tuple)) or not rows \
            or not isinstance(rows[0], (list, tuple)):
        return np.asarray(rows, dtype=dtype)
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        return np.asarray(rows, dtype=dtype)  # ragged: let numpy raise its usual error
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype, count=len(rows) * width)
    return flat.reshape(len(rows), width)


def quantise_all(shares: Any) -> Any:
    """`quantise` over a whole [step][edge] matrix at once."""
    f = np.nan_to_num(as_matrix(shares, float), nan=0.0, posinf=0.0, neginf=0.0)
    q = np.clip(np.rint(f * 9), 1, 9)
    return np.where(f < 0.005, 0, q).astype(np.uint8)


def keyframes(rows: Iterable[str]) -> list[list[Any]]:
    """[[step, row], …] for the first step and every step whose row differs from the one before."""
    out: list[list[Any]] = []
    prev = None
    for i, row in enumerate(rows):
        if row != prev:
            out.append([i, row])
            prev = row
    return out


_LAYOUTS: dict[tuple, dict] = {}


def _layout(g: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """layered_layout, memoised on the graph's structure (every flip re-sends the same graph)."""
    key = (tuple((n, d.get("kind")) for n, d in g.nodes(data=True)), tuple(g.edges))
    if key not in _LAYOUTS:
        if len(_LAYOUTS) > 32:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layered_layout(g)
    return _LAYOUTS[key]


def graph_nodes(g: nx.DiGraph) -> list[dict[str, Any]]:
    """Static node info: label, kind, fixed position, and who depends on whom (for the tooltip)."""
    xy = _layout(g)
    label = lambda n: str(g.nodes[n].get("label", n))  # noqa: E731
    return [
        {
            "id": str(n),
            "label": label(n),
            "kind": str(d.get("kind", "")),
            "x": xy[n][0],
            "y": xy[n][1],
            "needs": sorted(label(m) for m in g.successors(n)),
            "users": sorted(label(m) for m in g.predecessors(n)),
        }
        for n, d in g.nodes(data=True)
    ]


def fallback_captions(tl: Timeline) -> list[tuple[float, str]]:
    """One line per moment with state changes, for callers without narration (sim.captions is richer)."""
    by_t: dict[float, list[str]] = {}
    for e in tl.events:
        by_t.setdefault(e.t_s, []).append(f"{tl.label(e.node)} {e.state}" + (f" ({e.cause})" if e.cause else ""))
    out = []
    for t, parts in sorted(by_t.items()):
        more = f" … and {len(parts) - 3} more" if len(parts) > 3 else ""
        out.append((t, f"{clock(t)} — " + "; ".join(parts[:3]) + more))
    return out


def hoist_datasets(charts: list[dict]) -> tuple[list[dict], dict[str, Any]]:
    """[{id, title, description, spec}] → the same with Altair's top-level `datasets` moved out of
    each spec into one shared map, so charts that share data send it once."""
    shared: dict[str, Any] = {}
    out = []
    for chart in charts:
        spec = dict(chart["spec"])
        shared.update(spec.pop("datasets", {}) or {})
        out.append({"id": str(chart.get("id", "")), "title": str(chart.get("title", "")),
                    "description": str(chart.get("description", "")), "spec": spec})
    return out, shared


def operator_menu(g: Any) -> list[dict[str, Any]]:
    """The action panel: every operator action with its kind of value and, for those aimed at a node,
    the nodes it can be aimed at on this architecture (id and label)."""
    return [{"name": a.label, "value": a.value, "help": a.help,
             "targets": [[str(n), str(g.nodes[n].get("label", n))] for n in targets(g, a.label)]}
            for a in ACTIONS]


def build_payload(tl: Timeline, charts: list[dict] | None = None,
                  captions: list[tuple[float, str]] | None = None) -> dict[str, Any]:
    """Everything the player draws for one run. Deterministic: same timeline → same dict."""
    g = tl.graph
    index = {n: i for i, n in enumerate(tl.node_ids)}
    nodes = graph_nodes(g)
    order = [index[n["id"]] for n in nodes]  # payload node order → timeline column
    states = keyframes(digit_rows(as_matrix(tl.node_states, np.uint8)[:, order]))
    edges = [{"from": str(u), "to": str(v), "kind": str(g.edges[u, v].get("kind", ""))} for u, v in tl.edge_ids]
    edge_rows = keyframes(digit_rows(quantise_all(tl.edge_fail)))
    node_pos = {n["id"]: i for i, n in enumerate(nodes)}
    chart_specs, datasets = hoist_datasets(charts or [])
    payload = {
        "step_s": tl.scenario.step_s,
        "steps": len(tl.t_s),
        "state_names": list(STATES),
        "nodes": nodes,
        "edges": edges,
        "node_frames": states,
        "edge_frames": edge_rows,
        # state changes, and the scheduled changes (operators' actions, faults) as rows of their own
        "events": sorted([[e.t_s, node_pos.get(str(e.node), -1), e.state, e.cause] for e in tl.events]
                         + [[m.t_s, -1, "action", m.label] for m in tl.milestones if m.action],
                         key=lambda row: row[0]),
        "captions": [[float(t), str(text)] for t, text in (captions if captions is not None else fallback_captions(tl))],
        "milestones": [[m.t_s, m.label] for m in tl.milestones],
        "flips": [[t, on] for t, on in tl.scenario.utility_flips()],
        "charts": chart_specs,
        "datasets": datasets,
        "cursor_param": CURSOR_PARAM,
        "cursor_scale": 1,  # simulated seconds → the charts' cursor_t unit (viz.charts uses seconds)
        "users": users_view(tl),
        "operator": operator_menu(g),
        "taken": taken(tl.scenario, lambda n: str(g.nodes[n].get("label", n)) if n in g else str(n)),
    }
    # Content-addressed: the player redraws only when the run changed (not for an acknowledgement).
    payload["id"] = hashlib.sha1(json.dumps(payload, separators=(",", ":"), default=_plain).encode()).hexdigest()[:16]
    return payload


def safe_json(obj: Any) -> str:
    """Compact JSON that can sit inside <script>: no '</', no '<!--', no U+2028/2029 line breaks."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_plain)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
