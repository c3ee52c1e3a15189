"""Streamlit glue shared by the classroom pages (the only classroom module that imports streamlit):
presenter mode (URL parameter + toggle) and the always-on focus styles."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CLASSROOM = ASSETS / "classroom"
ON = {"1", "true", "on", "yes"}


def _style(name: str) -> None:
    st.html(f"<style>{(CLASSROOM / name).read_text(encoding='utf-8')}</style>")


def _sync_presenter() -> None:
    if st.session_state.presenter:
        st.query_params["presenter"] = "1"
    elif "presenter" in st.query_params:
        del st.query_params["presenter"]


def presenter_mode(where=None) -> bool:
    """The presenter toggle (kept in step with ?presenter=1) and its styles. Returns whether it is on."""
    if "presenter" not in st.session_state:
        st.session_state.presenter = str(st.query_params.get("presenter", "")).lower() in ON
    elif st.session_state.presenter and "presenter" not in st.query_params:
        st.query_params["presenter"] = "1"  # keep the link shareable after switching pages
    (where or st).toggle("Presenter mode", key="presenter", on_change=_sync_presenter,
                         help="Large text, high contrast, no sidebar, a bigger graph. Also: add ?presenter=1 to the link.")
    _style("a11y.css")
    if st.session_state.presenter:
        _style("presenter.css")
    return bool(st.session_state.presenter)


def markdown_file(path: Path) -> str:
    return path.read_text(encoding="utf-8")
