"""About the model: how the simulation works, every assumption and why, every source with its link,
known limitations. The prose is assets/about.md (sources in one list, checked by the tests)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from classroom.ui import presenter_mode

ABOUT = (Path(__file__).resolve().parent.parent / "assets" / "about.md").read_text(encoding="utf-8")

presenter_mode()
st.markdown(ABOUT)
