"""Streamlit glue shared by the classroom pages (the only classroom module that imports streamlit):
presenter mode (URL parameter + toggle) and the always-on focus styles."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from viz.presenter import enlarge

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CLASSROOM = ASSETS / "classroom"
ON = {"1", "true", "on", "yes"}


def _style(name: str) -> None:
    st.html(f"<style>{(CLASSROOM / name).read_text(encoding='utf-8')}</style>")


def _sync_presenter() -> None:
    st.session_state.presenter_on = bool(st.session_state.presenter)
    if st.session_state.presenter:
        st.query_params["presenter"] = "1"
    elif "presenter" in st.query_params:
        del st.query_params["presenter"]


def presenter_mode(where=None) -> bool:
    """The presenter toggle (kept in step with ?presenter=1) and its styles. Returns whether it is on."""
    # Kept under a key of its own: Streamlit drops a widget's state when another page's widget of the
    # same key is drawn, and presenter mode must survive moving between pages.
    if "presenter_on" not in st.session_state:
        st.session_state.presenter_on = str(st.query_params.get("presenter", "")).lower() in ON
    elif st.session_state.presenter_on and "presenter" not in st.query_params:
        st.query_params["presenter"] = "1"  # keep the link shareable after switching pages
    st.session_state.presenter = st.session_state.presenter_on
    (where or st).toggle("Presenter mode", key="presenter", on_change=_sync_presenter,
                         help="Large text, high contrast, no sidebar, a bigger graph. Also: add ?presenter=1 to the link.")
    _style("a11y.css")
    if st.session_state.presenter:
        _style("presenter.css")
    return bool(st.session_state.presenter)


def title_with_presenter(title: str) -> bool:
    """A page's title with the presenter toggle beside it (the simulating pages). Returns whether
    presenter mode is on."""
    head, toggle = st.columns([5, 1.4], vertical_alignment="center")
    head.title(title)
    return presenter_mode(toggle)


def presenting() -> bool:
    return bool(st.session_state.get("presenter_on"))


def chart(spec_or_chart, **kwargs) -> None:
    """An Altair chart or Vega-Lite spec, its text 1.5× larger in presenter mode (viz.presenter)."""
    spec = spec_or_chart if isinstance(spec_or_chart, dict) else spec_or_chart.to_dict()
    st.vega_lite_chart(spec=enlarge(spec) if presenting() else spec, **kwargs)


def markdown_file(path: Path) -> str:
    return path.read_text(encoding="utf-8")
