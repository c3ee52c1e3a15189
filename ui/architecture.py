"""The session's architecture: what the Architecture page chose, read by ui/runner.py for every run.

Kept in `st.session_state` under one key that no widget owns, so it survives page changes for the
whole session. Only a valid architecture is ever stored (`choose` validates first and returns the
message otherwise), so an invalid edit or upload never replaces the last valid one. None — the
default — means the built-in social video app (its runs keep their checkpoints and shared caches).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx

import sim
from sim.architecture import DEFAULT_ARCHITECTURE, ArchitectureError
from sim.files import ARCHITECTURE_MAX_BYTES
from viz.archpage import graph_html

KEY = "lights_out_architecture"
_DEFAULT_TEXT = DEFAULT_ARCHITECTURE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Chosen:
    """A valid architecture other than the built-in one, as TOML text, and where it came from."""

    text: str
    source: str          # an example's file name or an uploaded file's name (shown escaped, never trusted)
    digest: str          # part of every cache key of its runs

    @property
    def graph(self) -> nx.DiGraph:
        return parsed(self.text)


_GRAPHS: OrderedDict[str, nx.DiGraph] = OrderedDict()     # text → its graph, the last _KEEP texts
_KEEP = 16
_lock = threading.Lock()


def _keep(text: str, g: nx.DiGraph) -> None:
    with _lock:
        _GRAPHS[text] = g
        _GRAPHS.move_to_end(text)
        while len(_GRAPHS) > _KEEP:
            _GRAPHS.popitem(last=False)


def parsed(text: str) -> nx.DiGraph:
    """The graph of a valid text, parsed once (validation keeps the graph it built)."""
    with _lock:
        g = _GRAPHS.get(text)
    if g is None:
        g = sim.parse_architecture(text, source="the chosen architecture")
        _keep(text, g)
    return g


@lru_cache(maxsize=8)
def drawing(text: str, focus: tuple[str, ...] = (), hit: frozenset = frozenset(), hit_edges: frozenset = frozenset()) -> str:
    """The Architecture page's drawing of a valid text (viz.archpage.graph_html), kept for the last
    few views: a 2,000-node graph takes ~0.2 s to lay out and write, and every rerun of the page (a
    click anywhere, an invalid edit) draws it again. Kept here, not in the page script, which Python
    runs afresh each time."""
    return graph_html(parsed(text), focus=focus, hit=hit, hit_edges=hit_edges)


def _state() -> dict | None:
    """The session's state, or None outside a Streamlit session (unit tests, the CLI)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: PLC0415
    except ImportError:  # pragma: no cover - Streamlit is a run-time requirement
        return None
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    import streamlit as st  # noqa: PLC0415

    return st.session_state   # type: ignore[return-value]


def current() -> Chosen | None:
    """The session's architecture, or None for the built-in app."""
    state = _state()
    chosen = state.get(KEY) if state is not None else None
    return chosen if isinstance(chosen, Chosen) else None


def graph() -> nx.DiGraph:
    chosen = current()
    return chosen.graph if chosen is not None else sim.default_architecture()


def text() -> str:
    chosen = current()
    return chosen.text if chosen is not None else _DEFAULT_TEXT


@lru_cache(maxsize=32)
def _check(text: str, source: str) -> str:
    """check_architecture's answer, kept for the texts seen last: every rerun of the page (a click
    anywhere) validates the editor's text again, and a 2,000-node text takes ~0.4 s. A valid text's
    graph is kept for `parsed`, so it is not parsed a second time."""
    try:
        g = sim.parse_architecture(text, source, ARCHITECTURE_MAX_BYTES)
    except ArchitectureError as exc:
        return str(exc)
    _keep(text, g)
    return ""


def make(text: str, source: str) -> tuple[Chosen | None, str]:
    """(the architecture, "") if the text is valid — None for the built-in app's own text — else
    (None, its one-line message naming `source`)."""
    problem = _check(text, source)
    if problem:
        return None, problem
    if text == _DEFAULT_TEXT:
        return None, ""
    return Chosen(text, source, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]), ""


def choose(text: str, source: str) -> str:
    """Make a valid text the session's architecture; "" if done, else the message (nothing changes)."""
    chosen, problem = make(text, source)
    if problem:
        return problem
    state = _state()
    if state is not None:
        if chosen is None:
            state.pop(KEY, None)
        else:
            state[KEY] = chosen
    return ""


__all__ = ["Chosen", "KEY", "current", "graph", "text", "make", "choose", "parsed", "drawing"]
