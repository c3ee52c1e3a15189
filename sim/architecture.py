"""Architecture files (TOML) → a validated networkx DiGraph.

Edges point from the dependent to what it depends on (caller → callee, server → its hall's power).
Every problem in a file is reported as one precise line (`ArchitectureError`) naming the file, the
entry and what is allowed, because engineers bring their own files and must be able to fix them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx

from .files import ARCHITECTURE_MAX_BYTES, FileProblem, check_size, parse_toml, read_text

ARCH_DIR = Path(__file__).parent / "architectures"
DEFAULT_ARCHITECTURE = ARCH_DIR / "social_video.toml"

KINDS = ("facility", "infrastructure", "datastore", "cache", "queue", "service", "edge", "feature")
TRAFFIC_KINDS = ("datastore", "cache", "queue", "service", "edge", "feature")
ROLES = ("utility", "generator", "ats", "ups", "cooling", "pdu")
# What a feature is for users; the story's metrics (login_success, …) come from these, never from ids.
FEATURE_ROLES = ("login", "upload", "feed", "watch", "view_counter", "earnings")
SITES = ("primary", "region", "edge")   # only the primary site loses power
DEFAULT_BOOT_MIN = {"infrastructure": 5.0, "datastore": 10.0, "cache": 2.0, "queue": 8.0, "service": 3.0}

_TOP_KEYS = {"name", "description", "hall", "node", "call"}
_HALL_KEYS = {"id", "label", "ups_load"}
_NODE_KEYS = {
    "id", "label", "kind", "role", "hall", "halls", "site", "capacity", "boot_min", "needs", "hit_ratio",
    "demand", "repeat_session", "events_per_request", "consumes", "description", "secondary",
}
_CALL_KEYS = {"from", "to", "calls", "required", "retry", "timeout_s", "fallback", "cache_miss", "for"}
MAX_NODES = 2000            # nodes in one file (the app draws and simulates them at interactive speed)
MAX_CALLS = 20000           # calls in one file
MAX_LABEL = 80              # characters in a label, a name or an id
_KEY_IN_MESSAGE = re.compile(r"^(?:node|call|hall) [^:]*: (?:unknown key ')?(\w+)\b")


class ArchitectureError(ValueError):
    """A file cannot be used; the message says where and what is allowed."""


def load_architecture(path: str | Path | None = None) -> nx.DiGraph:
    """Read and validate an architecture file (the default one if path is None)."""
    p = Path(path) if path is not None else DEFAULT_ARCHITECTURE
    try:
        text = read_text(p, ARCHITECTURE_MAX_BYTES, "architecture")
    except FileProblem as exc:
        raise ArchitectureError(str(exc).removeprefix("architecture ")) from None
    return parse_architecture(text, source=str(p))


@lru_cache(maxsize=8)
def _cached_default() -> nx.DiGraph:
    return load_architecture(DEFAULT_ARCHITECTURE)


def default_architecture() -> nx.DiGraph:
    """The shipped reference architecture (parsed once). Treat it as read-only."""
    return _cached_default()


def feature_roles(g: nx.DiGraph) -> dict[str, str]:
    """role → the feature node that has it (FEATURE_ROLES; an architecture may have none)."""
    return {d["role"]: n for n, d in g.nodes(data=True) if d["kind"] == "feature" and d.get("role")}


def parse_architecture(text: str, source: str = "<architecture>", max_bytes: int | None = None) -> nx.DiGraph:
    """Validate an architecture given as text (the CLI's file, the page's editor or upload): a
    networkx DiGraph, or one ArchitectureError line naming the source, the line where it can, the
    node or call, what is wrong and what is allowed. The one validation: the CLI and the app use it.
    `max_bytes`: the size limit of untrusted text (the CLI's files are limited where they are read;
    the page passes ARCHITECTURE_MAX_BYTES through check_architecture; generated benchmarks none)."""
    try:
        if max_bytes is not None:
            check_size(text, max_bytes, source)
        data = parse_toml(text, source)
    except FileProblem as exc:
        raise ArchitectureError(str(exc)) from None
    return build_graph(data, source, _Lines(text))


def check_architecture(text: str, source: str = "<architecture>") -> str:
    """"" if the text is a valid architecture within the size limit of a file (256 KB), else its
    one-line message (for a page's live check of an edit or an upload)."""
    try:
        parse_architecture(text, source, ARCHITECTURE_MAX_BYTES)
    except ArchitectureError as exc:
        return str(exc)
    return ""


class _Lines:
    """Where each [[hall]], [[node]] and [[call]] table and its keys are in the text (tomllib keeps
    no positions), so a message can name the line. Tables written inline have no line."""

    _HEADER = re.compile(r"^\s*\[\[\s*(\w+)\s*\]\]")
    _ANY_HEADER = re.compile(r"^\s*\[")

    def __init__(self, text: str = "") -> None:
        self.lines = text.splitlines()
        self.tables: dict[str, list[int]] = {}
        for n, line in enumerate(self.lines):
            m = self._HEADER.match(line)
            if m:
                self.tables.setdefault(m.group(1), []).append(n)

    def of(self, table: str, i: int, key: str | None = None) -> int | None:
        """The 1-based line of table #i (0-based) of this name, or of its key if given."""
        starts = self.tables.get(table, [])
        if i >= len(starts):
            return None
        start = starts[i]
        if key is not None:
            pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
            for n in range(start + 1, len(self.lines)):
                if self._ANY_HEADER.match(self.lines[n]):
                    break
                if pattern.match(self.lines[n]):
                    return n + 1
        return start + 1


def build_graph(data: dict[str, Any], source: str = "<architecture>", lines: _Lines | None = None) -> nx.DiGraph:
    lines = lines if lines is not None else _Lines()
    at: list[Any] = [None]      # the entry being checked: (table, index, key or None), or None

    def fail(msg: str) -> ArchitectureError:
        n = None
        if at[0] is not None:
            table, i, key = at[0]
            m = _KEY_IN_MESSAGE.match(msg)      # "node 'db': capacity = …" names the key's own line
            n = lines.of(table, i, key or (m.group(1) if m else None))
        return ArchitectureError(f"{source}: " + (f"line {n}: " if n is not None else "") + msg)

    _unknown_keys(data, _TOP_KEYS, "the top level", fail)
    g = nx.DiGraph(name=_label(data.get("name", "Custom architecture"), "name", fail),
                   description=str(data.get("description", "")))

    halls: dict[str, dict[str, Any]] = {}
    for i, hall in enumerate(_table_list(data, "hall", fail)):
        at[0] = ("hall", i, None)
        _unknown_keys(hall, _HALL_KEYS, f"hall #{i + 1}", fail)
        hid = _ident(hall.get("id"), f"hall #{i + 1}: id", fail)
        if hid in halls:
            raise fail(f"hall {hid!r} is declared twice")
        ups_load = _number(hall.get("ups_load", 1.0), f"hall {hid!r}: ups_load", 0.05, 2.0, fail)
        halls[hid] = {"label": _label(hall.get("label", f"Hall {hid}"), f"hall {hid!r}: label", fail),
                      "ups_load": ups_load}
    at[0] = None
    if not halls:
        raise fail("declare at least one [[hall]] of the primary site (id = \"A\")")
    g.graph["halls"] = halls

    nodes = _table_list(data, "node", fail)
    if not nodes:
        raise fail("no [[node]] entries")
    if len(nodes) > MAX_NODES:
        at[0] = ("node", MAX_NODES, None)
        raise fail(f"{len(nodes):,} nodes; a file may declare at most {MAX_NODES:,}")
    for i, node in enumerate(nodes):
        at[0] = ("node", i, None)
        _add_node(g, node, i, halls, fail)
    at[0] = None

    roles = {d.get("role") for _, d in g.nodes(data=True) if d["kind"] == "facility"}
    for role in ("utility", "ats", "ups", "pdu"):
        if role not in roles:
            raise fail(f"the facility needs a node with role = {role!r} (roles: {', '.join(ROLES)})")
    pdus = {d["hall"]: n for n, d in g.nodes(data=True) if d.get("role") == "pdu"}
    for hid in halls:
        if hid not in pdus:
            raise fail(f"hall {hid!r} has no node with role = \"pdu\" and hall = {hid!r}")
    g.graph["pdu_of_hall"] = pdus
    g.graph["facility"] = {d["role"]: n for n, d in g.nodes(data=True) if d.get("role") and d["role"] != "pdu"}

    calls = _table_list(data, "call", fail)
    if len(calls) > MAX_CALLS:
        at[0] = ("call", MAX_CALLS, None)
        raise fail(f"{len(calls):,} calls; a file may declare at most {MAX_CALLS:,}")
    for i, call in enumerate(calls):
        at[0] = ("call", i, None)
        _add_call(g, call, i, fail)
    at[0] = None

    features = [n for n, d in g.nodes(data=True) if d["kind"] == "feature"]
    if not features:
        raise fail("no node of kind \"feature\": at least one thing users do is needed")
    index = {n: i for i, n in enumerate(g)}
    for n, d in g.nodes(data=True):
        consumed = d.get("consumes")
        if consumed is not None:
            at[0] = ("node", index[n], "consumes")
            if d["kind"] != "service":
                raise fail(f"node {n!r}: consumes is for a service node (a pull consumer), not a {d['kind']} node")
            if consumed not in g or g.nodes[consumed]["kind"] != "queue":
                raise fail(f"node {n!r}: consumes = {consumed!r} must name a node of kind \"queue\"")
        for need in d.get("needs", ()):
            at[0] = ("node", index[n], "needs")
            if need not in g:
                raise fail(f"node {n!r}: needs {need!r}, which is not a declared node")
            if g.nodes[need]["kind"] in ("feature", "facility"):
                raise fail(f"node {n!r}: needs {need!r}, a {g.nodes[need]['kind']} node; needs names "
                           f"infrastructure or backends (power comes from halls = [...])")
    at[0] = None

    _add_structural_edges(g, source)
    # A cycle is found in linear time (a depth-first search); the message names it, never a hang.
    call_graph = nx.DiGraph((u, v) for u, v, k in g.edges(data="kind") if k in ("call", "fallback"))
    if call_graph.number_of_nodes() and not nx.is_directed_acyclic_graph(call_graph):
        raise fail(f"calls form a cycle ({_cycle(call_graph)}); calls must flow one way, from features to backends")
    needs_graph = nx.DiGraph((u, v) for u, v, k in g.edges(data="kind") if k == "needs")
    if needs_graph.number_of_nodes() and not nx.is_directed_acyclic_graph(needs_graph):
        raise fail(f"needs form a cycle ({_cycle(needs_graph)}); a node cannot need itself, directly or through others")
    return g


def _add_node(g: nx.DiGraph, node: dict[str, Any], i: int, halls: dict, fail) -> None:
    where = f"node #{i + 1}"
    _unknown_keys(node, _NODE_KEYS, where, fail)
    nid = _ident(node.get("id"), f"{where}: id", fail)
    where = f"node {nid!r}"
    if nid in g:
        raise fail(f"{where} is declared twice")
    kind = node.get("kind")
    if kind not in KINDS:
        raise fail(f"{where}: kind = {kind!r}; use one of: {', '.join(KINDS)}")
    attrs: dict[str, Any] = {"label": _label(node.get("label", nid), f"{where}: label", fail), "kind": kind,
                             "description": str(node.get("description", ""))}
    if kind == "facility":
        role = node.get("role")
        if role not in ROLES:
            raise fail(f"{where}: role = {role!r}; a facility node needs one of: {', '.join(ROLES)}")
        attrs["role"] = role
        if role == "pdu":
            hall = node.get("hall")
            if not isinstance(hall, str) or hall not in halls:
                raise fail(f"{where}: hall = {hall!r} is not a declared [[hall]] ({', '.join(halls)})")
            attrs["hall"] = hall
        attrs["site"] = "primary"
        g.add_node(nid, **attrs)
        return
    site = node.get("site", "primary" if kind != "feature" else "users")
    if kind != "feature" and site not in SITES:
        raise fail(f"{where}: site = {site!r}; use one of: {', '.join(SITES)}")
    attrs["site"] = site
    node_halls = node.get("halls", [])
    if not isinstance(node_halls, list) or not all(isinstance(h, str) for h in node_halls):
        raise fail(f"{where}: halls must be a list of hall ids, e.g. [\"A\", \"B\"]")
    if site == "primary" and kind != "feature":
        if not node_halls:
            raise fail(f"{where}: a primary-site node needs halls = [...] (declared: {', '.join(halls)})")
        for h in node_halls:
            if h not in halls:
                raise fail(f"{where}: hall {h!r} is not declared (declared: {', '.join(halls)})")
    elif node_halls:
        raise fail(f"{where}: only primary-site nodes run in halls")
    attrs["halls"] = tuple(node_halls)
    secondary = node.get("secondary", True)
    if not isinstance(secondary, bool):
        raise fail(f"{where}: secondary must be true or false")
    attrs["secondary"] = secondary and site == "primary"
    attrs["boot_min"] = _number(node.get("boot_min", DEFAULT_BOOT_MIN.get(kind, 3.0)),
                                f"{where}: boot_min", 0.0, 240.0, fail)
    needs = node.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise fail(f"{where}: needs must be a list of node ids")
    attrs["needs"] = tuple(needs)
    if kind != "infrastructure" and kind != "feature":
        attrs["capacity"] = _number(node.get("capacity", 2.5), f"{where}: capacity", 0.05, 1000.0, fail)
    if kind == "cache":
        attrs["hit_ratio"] = _number(node.get("hit_ratio", 0.9), f"{where}: hit_ratio", 0.0, 0.999, fail)
    if kind == "feature":
        role = node.get("role")
        if role is not None:
            if role not in FEATURE_ROLES:
                raise fail(f"{where}: role = {role!r}; a feature's role is one of: {', '.join(FEATURE_ROLES)}")
            taken = next((n for n, d in g.nodes(data=True) if d["kind"] == "feature" and d.get("role") == role), None)
            if taken is not None:
                raise fail(f"{where}: role = {role!r} is already taken by node {taken!r}; each role names one feature")
            attrs["role"] = role
        attrs["demand"] = _number(node.get("demand", 1.0), f"{where}: demand", 0.0, 1e9, fail)
        attrs["repeat_session"] = _number(node.get("repeat_session", 50), f"{where}: repeat_session", 1, 10000, fail)
        attrs["events_per_request"] = _number(node.get("events_per_request", 0.0),
                                              f"{where}: events_per_request", 0.0, 1000.0, fail)
    if "role" in node and kind not in ("facility", "feature"):
        raise fail(f"{where}: role is for facility nodes ({', '.join(ROLES)}) and features "
                   f"({', '.join(FEATURE_ROLES)}), not a {kind} node")
    if "consumes" in node:
        if not isinstance(node["consumes"], str):
            raise fail(f"{where}: consumes = {node['consumes']!r} must name a node of kind \"queue\"")
        attrs["consumes"] = node["consumes"]
    g.add_node(nid, **attrs)


def _add_call(g: nx.DiGraph, call: dict[str, Any], i: int, fail) -> None:
    where = f"call #{i + 1}"
    _unknown_keys(call, _CALL_KEYS, where, fail)
    src, dst = call.get("from"), call.get("to")
    for end, value in (("from", src), ("to", dst)):
        if value not in g:
            raise fail(f"{where}: {end} = {value!r} is not a declared node")
        if g.nodes[value]["kind"] not in TRAFFIC_KINDS:
            raise fail(f"{where}: {end} = {value!r} is a {g.nodes[value]['kind']} node; calls join "
                       f"{', '.join(TRAFFIC_KINDS)} nodes (use needs = [...] for infrastructure)")
    where = f"call {src} -> {dst}"
    if g.has_edge(src, dst):
        raise fail(f"{where} is declared twice")
    if g.nodes[dst]["kind"] == "feature":
        raise fail(f"{where}: nothing may call a feature; features are what users do")
    fallback = call.get("fallback")
    if fallback is not None and (not isinstance(fallback, str) or fallback not in g
                                 or g.nodes[fallback]["kind"] not in TRAFFIC_KINDS or g.nodes[fallback]["kind"] == "feature"):
        raise fail(f"{where}: fallback = {fallback!r} must name a declared service, datastore or edge node")
    required = call.get("required", True)
    for key in ("required", "retry", "cache_miss"):
        if key in call and not isinstance(call[key], bool):
            raise fail(f"{where}: {key} must be true or false")
    features = call.get("for", [])
    if not isinstance(features, list) or any(f not in g or g.nodes[f]["kind"] != "feature" for f in features):
        raise fail(f"{where}: for = {features!r} must list feature node ids")
    if call.get("cache_miss") and g.nodes[src]["kind"] != "cache":
        raise fail(f"{where}: cache_miss = true only makes sense on a call from a cache node")
    timeout = call.get("timeout_s")
    if timeout is not None:
        timeout = _number(timeout, f"{where}: timeout_s", 0.05, 120.0, fail)
    g.add_edge(src, dst, kind="call",
               calls=_number(call.get("calls", 1.0), f"{where}: calls", 0.0, 100.0, fail),
               required=bool(required), retry=bool(call.get("retry", False)), timeout_s=timeout,
               fallback=fallback, cache_miss=bool(call.get("cache_miss", False)), features=tuple(features))
    if fallback is not None and not g.has_edge(src, fallback):
        g.add_edge(src, fallback, kind="fallback", fallback_for=dst)


def _add_structural_edges(g: nx.DiGraph, source: str) -> None:
    """Power and needs edges, so the drawing and blast radius follow the real chain."""
    fac = g.graph["facility"]
    pdus = g.graph["pdu_of_hall"]
    if "ats" in fac:
        for role in ("utility", "generator"):
            if role in fac:
                g.add_edge(fac["ats"], fac[role], kind="power")
        if "ups" in fac:
            g.add_edge(fac["ups"], fac["ats"], kind="power")
    for pdu in pdus.values():
        if "ups" in fac:
            g.add_edge(pdu, fac["ups"], kind="power")
        if "cooling" in fac:
            g.add_edge(pdu, fac["cooling"], kind="power")
    if "cooling" in fac and "ats" in fac:
        g.add_edge(fac["cooling"], fac["ats"], kind="power")
    for n, d in list(g.nodes(data=True)):
        for h in d.get("halls", ()):
            g.add_edge(n, pdus[h], kind="power")
        for need in d.get("needs", ()):     # checked in build_graph
            if not g.has_edge(n, need):
                g.add_edge(n, need, kind="needs")


def _cycle(g: nx.DiGraph) -> str:
    """One cycle of g, named (at most eight nodes of it)."""
    nodes = [u for u, _ in nx.find_cycle(g)]
    return " -> ".join(nodes + [nodes[0]]) if len(nodes) <= 8 else " -> ".join(nodes[:8]) + " -> …"


def _table_list(data: dict, key: str, fail) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise fail(f"{key} must be written as [[{key}]] tables")
    return value


def _unknown_keys(table: dict, allowed: set[str], where: str, fail) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise fail(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")


def _ident(value: Any, where: str, fail) -> str:
    if (not isinstance(value, str) or not value or len(value) > MAX_LABEL
            or not all((c.isascii() and c.isalnum()) or c in "_-" for c in value)):
        shown = repr(value) if not isinstance(value, str) or len(value) <= MAX_LABEL else repr(value[:MAX_LABEL] + "…")
        raise fail(f"{where} = {shown} must be a name of 1 to {MAX_LABEL} letters, digits, _ or - (ASCII)")
    return value


def _label(value: Any, where: str, fail) -> str:
    """A label or name: one line of at most MAX_LABEL characters (shown as text wherever it appears)."""
    if not isinstance(value, str):
        raise fail(f"{where} = {value!r} must be text in quotes")
    if len(value) > MAX_LABEL:
        raise fail(f"{where} is {len(value)} characters long; at most {MAX_LABEL} are allowed")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise fail(f"{where} contains a line break or control character; a label is one line of text")
    return value


def _number(value: Any, where: str, low: float, high: float, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"{where} = {value!r} must be a number from {low:g} to {high:g}")
    if not low <= value <= high:     # NaN and infinity fail here too
        raise fail(f"{where} = {value:g} is out of range ({low:g} to {high:g})")
    return float(value)
