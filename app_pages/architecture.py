"""Your own system: pick an example or upload a TOML file, edit it beside the format's reference, see
it validated and drawn, download or share it, and preview a node's blast radius before running it.

Thin on purpose: the text → sim.architecture (validation) → ui.architecture (the session's choice,
used by every simulating page through ui.runner) → viz.archpage (what is drawn) → the page. An
invalid text or upload shows its one-line message and never replaces the last valid architecture.
"""

from __future__ import annotations

from string import Template

import streamlit as st

import sim
from sim.blast import blast_radius, can_stop, compare
from sim.files import ARCHITECTURE_MAX_BYTES
from sim.interventions import Intervention
from sim.links import ARCH_LINK_MAX_CHARS, ARCH_PARAM, architecture_from_param, architecture_to_param
from ui import architecture, guard, runner
from ui.widgets import page_url
from viz import archpage
from viz.whatif import escape_md, sections

TEXT = sections("architecture_page/text.md")
EXAMPLES = {e.name: e for e in archpage.examples()}
P = "arch."          # this page's session-state prefix


def say(section: str, **values: object) -> str:
    return Template(TEXT[section]).safe_substitute({k: str(v) for k, v in values.items()}).strip()


def _name() -> str:
    return escape_md(architecture.graph().graph.get("name", "architecture"))


# ---- callbacks (run before the script body) -----------------------------------------------------
def _on_example() -> None:
    ex = EXAMPLES.get(st.session_state.get(P + "example") or "")
    if ex is not None:
        st.session_state[P + "editor"] = ex.text
        st.session_state[P + "source"] = ex.file
        st.session_state[P + "problem"] = ""


def _on_upload() -> None:
    up = st.session_state.get(P + "upload")
    if up is None:
        return
    name = str(getattr(up, "name", "upload.toml"))
    data = up.read(ARCHITECTURE_MAX_BYTES + 1)
    if len(data) > ARCHITECTURE_MAX_BYTES:
        st.session_state[P + "problem"] = f"{name}: larger than {ARCHITECTURE_MAX_BYTES // 1024} KB, the most that is read"
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        st.session_state[P + "problem"] = f"{name}: not UTF-8 text"
        return
    st.session_state[P + "editor"] = text      # shown to be fixed; chosen only if valid (below)
    st.session_state[P + "source"] = name
    st.session_state[P + "problem"] = ""


# ---- state --------------------------------------------------------------------------------------
chosen = architecture.current()
if P + "editor" not in st.session_state:
    st.session_state[P + "editor"] = architecture.text()
    st.session_state[P + "source"] = chosen.source if chosen is not None else EXAMPLES["social_video"].file
st.session_state.setdefault(P + "problem", "")
st.session_state.setdefault(P + "link_seen", "")

link_notice = ""
incoming = st.query_params.get(ARCH_PARAM)
if incoming and incoming != st.session_state[P + "link_seen"]:
    st.session_state[P + "link_seen"] = incoming
    try:
        text = architecture_from_param(incoming)
        link_notice = architecture.choose(text, "the link's architecture")
        if not link_notice:
            st.session_state[P + "editor"] = text
            st.session_state[P + "source"] = "shared.toml"
    except ValueError as exc:
        link_notice = str(exc)

st.title("Your own system")
st.markdown(TEXT["intro"].strip())

pick, upload = st.columns(2)
pick.selectbox("Start from an example", list(EXAMPLES), index=None, key=P + "example", on_change=_on_example,
               format_func=lambda n: EXAMPLES[n].title, placeholder="Choose an example…")
upload.file_uploader("…or upload a TOML file", type=["toml", "txt"], key=P + "upload", on_change=_on_upload,
                     max_upload_size=1)

editor, ref = st.columns([3, 2])
text = editor.text_area("Architecture (TOML): validated as you edit (Ctrl+Enter or click outside to apply)",
                        key=P + "editor", height=460)
source = str(st.session_state[P + "source"])
with ref.container(height=520, border=True):
    st.markdown(archpage.reference())

# Validate what is in the editor; a valid text becomes the session's architecture at once.
upload_problem = st.session_state[P + "problem"]
problem = upload_problem or architecture.choose(text, source)
status = st.empty()
if link_notice:
    status.error(say("link_failed") + "\n\n`" + escape_md(link_notice) + "`", icon="⚠️")
elif problem:
    which = "upload_failed" if upload_problem else "invalid"
    status.error(say(which, name=_name()) + "\n\n" + escape_md(problem), icon="⚠️")
else:
    current = architecture.current()
    if current is None:
        status.success(say("builtin", name=_name()), icon="✅")
    else:
        status.success(say("in_use", name=_name(), nodes=current.graph.number_of_nodes()), icon="✅")

g = architecture.graph()
ex = next((e for e in EXAMPLES.values() if e.text == architecture.text()), None)
if ex is not None:
    with st.expander(f"What this example teaches: {ex.title}", expanded=False):
        st.markdown(escape_md(ex.summary) + "\n\n" + ex.story)

# ---- download and link --------------------------------------------------------------------------
d1, d2 = st.columns([1, 3])
d1.download_button("Download the architecture", architecture.text(), file_name=archpage.download_name(source),
                   mime="application/toml", key=P + "download")
packed = architecture_to_param(architecture.text())
if packed is not None:
    d2.markdown(say("link_small", chars=f"{len(packed):,}", limit=f"{ARCH_LINK_MAX_CHARS:,}"))
    d2.code(page_url("architecture", {ARCH_PARAM: packed}), language=None, wrap_lines=False)
else:
    size = len(architecture_to_param(architecture.text(), limit=10**9) or "")
    d2.info(say("link_large", chars=f"{size:,}", limit=f"{ARCH_LINK_MAX_CHARS:,}"), icon="ℹ️")

# ---- blast radius -------------------------------------------------------------------------------
st.subheader("Blast radius")
st.markdown(say("blast"))
nodes = [n for n in g if g.nodes[n].get("kind") != "feature"]
default = ex.node if ex is not None and ex.node in g else None
index = nodes.index(default) if default in nodes else None
node = st.selectbox("Node", nodes, index=index, key=P + "node", format_func=lambda n: archpage.node_choice(g, n),
                    placeholder="Choose a node…")
if node is not None and node not in g:        # the architecture changed under the selection
    node = None

dependents = blast_radius(g, node) if node is not None else []
hit = {d.feature for d in dependents} | {n for d in dependents for n in d.path}
st.iframe(archpage.graph_html(g, focus=node, hit=hit, hit_edges=archpage.hit_edges(dependents)), height=560,
          alt="Architecture graph")

if node is not None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Predicted before running** (the graph's paths):")
        st.markdown("\n".join(archpage.prediction_lines(g, node, dependents)))
    with right:
        if not can_stop(g, node):
            st.markdown(say("cannot_stop", kind=escape_md(g.nodes[node].get("kind", ""))))
        else:
            c1, c2 = st.columns(2)
            start = c1.number_input("Stop at minute", 1, 300, 10, key=P + "start")
            end = c2.number_input("Restart at minute", 2, 360, 20, key=P + "end")
            end = max(int(end), int(start) + 1)
            scenario = sim.Scenario(duration_min=float(end + 40), actions=(
                Intervention("node_stop", start_min=float(start), end_min=float(end), node=node),))
            if st.button("Run it", key=P + "run", type="primary"):
                st.session_state[P + "ran"] = (node, scenario)
            ran = st.session_state.get(P + "ran")
            if ran is not None and ran[0] == node and ran[1] == scenario:
                rows, fault = guard.attempt(lambda: runner.derived(
                    ("blast", node, scenario), lambda: compare(g, node, runner.timeline(scenario))))
                if fault:
                    st.error(fault, icon="⚠️")
                elif rows is not None:
                    st.markdown(f"**What the run shows** ({escape_md(archpage.label(g, node))} stopped "
                                f"{int(start)}–{int(end)} min), features in the order they failed:")
                    st.dataframe(archpage.comparison_rows(g, rows), hide_index=True, width="stretch")
                    missed = [archpage.label(g, r.feature) for r in rows if r.verdict == "not predicted, failed"]
                    kept = [archpage.label(g, r.feature) for r in rows if r.verdict == "predicted, kept working"]
                    if missed:
                        st.markdown(say("missed", count=escape_md(", ".join(missed))))
                    if kept:
                        st.markdown(say("absorbed", count=escape_md(", ".join(kept))))
                    tl = runner.timeline(scenario)
                    backlog = [v for v in tl.metrics.get("backlog_events", []) if v == v]
                    if backlog and max(backlog) > 1:
                        st.markdown(say("backlog", peak=f"{max(backlog):,.0f}", end=f"{backlog[-1]:,.0f}"))

with st.expander("Every node as text", expanded=False):
    st.dataframe([{"id": n, "label": archpage.label(g, n), "kind": d.get("kind", ""),
                   "depends on": ", ".join(archpage.label(g, m) for m in g.successors(n))}
                  for n, d in g.nodes(data=True)], hide_index=True, width="stretch")
