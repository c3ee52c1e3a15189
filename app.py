"""Lights Out — entry point: page config and the router. Every page lives in app_pages/ (not pages/: that name puts Streamlit in its legacy multipage mode on a cold server)."""

import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # `import sim` / `import viz` however the app is started
    sys.path.insert(0, str(ROOT))


def main() -> None:
    import streamlit as st

    st.set_page_config(page_title="Lights Out", page_icon="💡", layout="wide")
    page = st.navigation([
        st.Page(ROOT / "app_pages" / "explainer.py", title="Explainer", icon=":material/bolt:", default=True),
        st.Page(ROOT / "app_pages" / "lab.py", title="Lab", icon=":material/science:"),
        st.Page(ROOT / "app_pages" / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(ROOT / "app_pages" / "experiment.py", title="Experiment", icon=":material/show_chart:"),
        st.Page(ROOT / "app_pages" / "architecture.py", title="Architecture", icon=":material/account_tree:"),
        st.Page(ROOT / "app_pages" / "story.py", title="The story", icon=":material/menu_book:"),
        st.Page(ROOT / "app_pages" / "teacher.py", title="Teacher notes", icon=":material/school:"),
        st.Page(ROOT / "app_pages" / "about.py", title="About the model", icon=":material/info:"),
    ])
    note = st.sidebar.empty()
    try:
        page.run()
    finally:  # after the page, which may just have chosen another architecture
        _architecture_note(note)

    @st.cache_resource(show_spinner=False)
    def _settle_heap() -> bool:
        """Once per server, after the first run has imported everything: move the long-lived heap
        (modules, Altair's schema classes, pandas) out of the garbage collector's sight. Streamlit runs
        a full collection after every script run; over ~140k objects it took 70–100 ms with the GIL
        held, and the page's messages waited for it (a flip's answer arrived that much later)."""
        gc.collect()
        gc.freeze()
        return True

    _settle_heap()


def _architecture_note(slot) -> None:
    """Every page says (in the sidebar slot kept for it) which architecture it simulates when it is
    not the built-in app."""
    import streamlit as st

    from ui import architecture
    from viz.whatif import escape_md

    chosen = architecture.current()
    if chosen is not None:
        slot.markdown(f"Simulating **{escape_md(chosen.graph.graph.get('name', 'your architecture'))}** "
                      "(chosen on the Architecture page).")


# Streamlit runs this file as __main__; a simulation worker process (ui/pool.py, multiprocessing)
# runs it again as __mp_main__ while it starts, where there is nothing to draw.
if __name__ != "__mp_main__":
    main()
