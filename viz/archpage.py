"""What the Architecture page shows, as pure functions: the examples with their stories, the graph as
a static HTML page, the blast radius as rows of text, a safe download name.

Everything taken from a file (ids, labels, descriptions, the file's name) is data: it reaches the
browser as escaped JSON written with textContent or as canvas text (graph_html), as Markdown with
every special character escaped (escape_md), or as a plain table cell — never as markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from sim.architecture import ARCH_DIR
from sim.blast import Dependent, Row
from sim.timeline import clock

from .layout import layered_layout
from .player import safe_json
from .whatif import ASSETS, escape_md, sections

ORDER = ("social_video", "three_tier", "service_chain", "two_sites", "queue_worker")
# Okabe–Ito-based fills by kind (colour is never the only channel: shapes and the node list too)
COLORS = {"facility": "#F0E442", "infrastructure": "#E69F00", "datastore": "#56B4E9", "queue": "#009E73",
          "cache": "#CC79A7", "service": "#a6cee3", "edge": "#bbbbbb", "feature": "#ffffff"}
# shapes whose label sits below them (a label inside a box would be cut)
SHAPES = {"facility": "square", "infrastructure": "hexagon", "datastore": "triangleDown", "queue": "triangle",
          "cache": "diamond", "service": "dot", "edge": "dot", "feature": "star"}
MAX_PATH_SHOWN = 12
GROUP_ABOVE = 120  # more nodes than this: the graph offers find, group columns and show all (as the player does)


@dataclass(frozen=True)
class Example:
    name: str          # the file's stem
    title: str
    summary: str       # one sentence
    story: str         # Markdown: what it teaches
    action: str        # a node_stop to try (the blast radius's default)
    text: str          # the TOML

    @property
    def file(self) -> str:
        return f"{self.name}.toml"

    @property
    def node(self) -> str:
        m = re.search(r"node=(\S+)", self.action)
        return m.group(1) if m else ""


def examples() -> list[Example]:
    out = []
    for name in ORDER:
        parts = sections(f"architectures/{name}.md")
        out.append(Example(name, parts["title"].strip(), parts["summary"].strip(), parts["story"].strip(),
                           parts["try"].strip(), (ARCH_DIR / f"{name}.toml").read_text(encoding="utf-8")))
    return out


def reference() -> str:
    """The format's reference (Markdown, ours)."""
    return (ASSETS / "architecture_format.md").read_text(encoding="utf-8")


def label(g: nx.DiGraph, n: str) -> str:
    return str(g.nodes[n].get("label", n))


def node_choice(g: nx.DiGraph, n: str) -> str:
    """How a node reads in a select box (plain text: Streamlit shows options as text)."""
    return f"{label(g, n)} ({n}, {g.nodes[n].get('kind', '')})"


def graph_html(g: nx.DiGraph, focus: str | tuple[str, ...] | list[str] | None = None,
               hit: set[str] | frozenset[str] = frozenset(),
               hit_edges: set[tuple[str, str]] | frozenset = frozenset()) -> str:
    """A static vis-network page of the graph (fixed layered layout); `focus` (one node, or a hall's or
    an intervention's nodes) outlined, the blast radius's nodes and path edges in orange. Loads
    vis-network from app/static (no CDN)."""
    focused = {focus} if isinstance(focus, str) else set(focus or ())
    xy = layered_layout(g)
    kinds: dict[str, int] = {}
    nodes = []
    for n, d in g.nodes(data=True):
        kind = str(d.get("kind", ""))
        kinds[kind] = kinds.get(kind, 0) + 1
        tip = [f"{label(g, n)} — {kind} ({n})"]
        if d.get("description"):
            tip.append(str(d["description"])[:300])
        deps = [label(g, m) for m in g.successors(n)]
        if deps:
            tip.append("Depends on: " + ", ".join(deps[:8]) + (" …" if len(deps) > 8 else ""))
        nodes.append({"id": str(n), "label": label(g, n), "kind": kind, "x": xy[n][0], "y": xy[n][1],
                      "shape": SHAPES.get(kind, "dot"), "tip": tip, "focus": n in focused, "hit": n in hit})
    edges = [{"from": str(u), "to": str(v), "kind": str(k), "hit": (u, v) in hit_edges}
             for u, v, k in g.edges(data="kind")]
    summary = (f"{g.graph.get('name', 'Architecture')}: {g.number_of_nodes()} nodes "
               f"({', '.join(f'{c} {k}' for k, c in kinds.items())}), {g.number_of_edges()} edges. "
               "Arrows point from a node to what it depends on.")
    data = {"nodes": nodes, "edges": edges, "summary": summary, "colors": COLORS, "group_above": GROUP_ABOVE}
    template = (ASSETS / "architecture_page" / "graph.html").read_text(encoding="utf-8")
    return template.replace("__DATA__", safe_json(data))


def path_text(g: nx.DiGraph, path: tuple[str, ...]) -> str:
    """A path as escaped Markdown: labels joined by arrows (long paths shortened in the middle)."""
    names = [label(g, n) for n in path]
    if len(names) > MAX_PATH_SHOWN:
        names = names[:6] + ["…"] + names[-5:]
    return " → ".join(escape_md(x) for x in names)


def prediction_lines(g: nx.DiGraph, node: str | None, dependents: list[Dependent], what: str | None = None) -> list[str]:
    """The blast radius as Markdown bullet lines (escaped). `what`: how the failing thing reads when
    it is not one node (a hall, an intervention), as plain text."""
    name = what if what is not None else label(g, node) if node is not None else "it"
    if not dependents:
        return [f"No user feature depends on **{escape_md(name)}**, directly or through others."]
    lines = []
    for d in dependents:
        notes = []
        if not d.required:
            notes.append("an optional call or a fallback is on the way: it may be absorbed")
        if d.partial:
            others = ", ".join(escape_md(label(g, n)) for n in d.partial)
            notes.append(f"{others} also runs in another hall: it may keep serving")
        note = f" *({'; '.join(notes)})*" if notes else ""
        lines.append(f"- **{escape_md(label(g, d.feature))}**: {path_text(g, d.path)}{note}")
    return lines


def hall_choice(g: nx.DiGraph, hall: str) -> str:
    """How a hall reads in a select box: its label, id and how many nodes run in it (plain text)."""
    count = sum(1 for _, d in g.nodes(data=True) if hall in (d.get("halls") or ()))
    h = g.graph.get("halls", {}).get(hall, {})
    return f"{h.get('label', hall)} ({hall}, {count} node{'s' if count != 1 else ''})"


def comparison_rows(g: nx.DiGraph, rows: list[Row]) -> list[dict[str, str]]:
    """The run next to the prediction, one row per feature (plain text cells for a table)."""
    out = []
    for r in rows:
        out.append({
            "Feature": label(g, r.feature),
            "Predicted": "yes" if r.path is not None else "no",
            "Failed at": clock(r.failed_s) if r.failed_s is not None else "—",
            "Recovered at": clock(r.recovered_s) if r.recovered_s is not None else
                            ("not by the end" if r.failed_s is not None else "—"),
            "Lowest success": f"{r.lowest:.0%}",
            "What happened": r.verdict,
        })
    return out


def hit_edges(dependents: list[Dependent]) -> set[tuple[str, str]]:
    return {(u, v) for d in dependents for u, v in zip(d.path, d.path[1:])}


def download_name(source: str) -> str:
    """A file name for the download: the source's stem reduced to letters, digits, '-' and '_'."""
    stem = Path(source.replace("\\", "/")).stem if source else ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "architecture"
    return f"{stem}.toml"


__all__ = ["Example", "examples", "reference", "graph_html", "prediction_lines", "comparison_rows", "hall_choice",
           "hit_edges", "download_name", "node_choice", "label", "path_text", "COLORS"]
