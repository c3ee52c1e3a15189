"""The session's architecture: what the Architecture page chose, read by ui/runner.py for every run.

Kept in `st.session_state` under one key that no widget owns, so it survives page changes for the
whole session. Only a valid architecture is ever stored (`choose` validates first and returns the
message otherwise), so an invalid edit or upload never replaces the last valid one. None — the
default — means the built-in social video app (its runs keep their checkpoints and shared caches).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx

import sim
from sim.architecture import DEFAULT_ARCHITECTURE, check_architecture

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


@lru_cache(maxsize=16)
def parsed(text: str) -> nx.DiGraph:
    return sim.parse_architecture(text, source="the chosen architecture")


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
    """check_architecture, kept for the texts seen last: every rerun of the page (a click anywhere)
    validates the editor's text again, and a 256 KB text takes a noticeable moment."""
    return check_architecture(text, source)


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


__all__ = ["Chosen", "KEY", "current", "graph", "text", "make", "choose", "parsed"]
