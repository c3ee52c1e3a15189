"""Your own system: pick an example or upload a TOML file, edit it beside the format's reference, see
it validated as you type and drawn, download or share it, and preview the blast radius of a node, a
hall or an intervention before running it.

Thin on purpose: the text → sim.architecture (validation) → ui.architecture (the session's choice,
used by every simulating page through ui.runner) → viz.archpage (what is drawn) → the page. An
invalid text or upload shows its one-line message and never replaces the last valid architecture.

The editor is a small component (assets/architecture_page/editor.*): a <textarea> that sends its text
after a pause in typing; the page validates it, acknowledges the edit's number and redraws. The
text the page holds (`arch.editor`) is replaced from Python only by an example, an upload or a link,
each raising `arch.rev` so the editor takes it.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import streamlit as st

import sim
from sim.architecture import MAX_NODES
from sim.blast import action_radius, blast_radius, can_stop, compare_with, hall_nodes, hall_radius, halls, touched
from sim.files import ARCHITECTURE_MAX_BYTES
from sim.interventions import KINDS, Intervention, InterventionError, describe, parse, target_problem
from sim.links import ARCH_LINK_MAX_CHARS, ARCH_PARAM, architecture_from_param, architecture_to_param
from sim.timeline import clock
from ui import architecture, guard, runner
from ui.widgets import page_url
from viz import archpage
from viz.whatif import escape_md, sections

TEXT = sections("architecture_page/text.md")
EXAMPLES = {e.name: e for e in archpage.examples()}
P = "arch."          # this page's session-state prefix
EDITOR_KEY = P + "editor_box"
EDITOR_DIR = Path(__file__).resolve().parent.parent / "assets" / "architecture_page"
# the kinds whose blast radius is the nodes they touch (the others act everywhere at once)
TARGETED = ("node_stop", "capacity_loss", "latency", "hall_power", "power", "load_surge")
WHAT = {"node": "A node", "hall": "A hall", "action": "An intervention"}

editor_box = st.components.v2.component(
    "lights_out_arch_editor",
    html=(EDITOR_DIR / "editor.html").read_text(encoding="utf-8"),
    css=(EDITOR_DIR / "editor.css").read_text(encoding="utf-8"),
    js=(EDITOR_DIR / "editor.js").read_text(encoding="utf-8"),
    isolate_styles=False,   # in the page's DOM: its label is found like any other field's
)


def say(section: str, **values: object) -> str:
    return Template(TEXT[section]).safe_substitute({k: str(v) for k, v in values.items()}).strip()


def _words(a: Intervention, g) -> str:
    """An intervention in plain words with the architecture's labels (nodes and halls)."""
    return describe(a, lambda n: archpage.label(g, n) if n in g else halls(g).get(n, n))


def _name() -> str:
    return escape_md(architecture.graph().graph.get("name", "architecture"))


# ---- callbacks (run before the script body) -----------------------------------------------------
def _replace(text: str, source: str) -> None:
    """Python puts a new text in the editor (an example, an upload, a link)."""
    st.session_state[P + "editor"] = text
    st.session_state[P + "source"] = source
    st.session_state[P + "problem"] = ""
    st.session_state[P + "rev"] = int(st.session_state.get(P + "rev", 0)) + 1


def _on_example() -> None:
    ex = EXAMPLES.get(st.session_state.get(P + "example") or "")
    if ex is not None:
        _replace(ex.text, ex.file)


def _on_edit() -> None:
    """The editor sent its text after a pause in typing: {text, seq, rev}. An edit made before Python
    last replaced the text (an older rev) or already seen (an older seq) is ignored."""
    req = (st.session_state.get(EDITOR_KEY) or {}).get("edit")
    if not isinstance(req, dict) or not isinstance(req.get("text"), str):
        return
    try:
        seq, rev = int(req.get("seq", 0)), int(req.get("rev", -1))
    except (TypeError, ValueError):
        return
    if rev != st.session_state.get(P + "rev", 0) or seq <= st.session_state.get(P + "ack", 0):
        return
    st.session_state[P + "ack"] = seq
    st.session_state[P + "editor"] = req["text"]
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
    _replace(text, name)      # shown to be fixed; chosen only if valid (below)


# ---- state --------------------------------------------------------------------------------------
chosen = architecture.current()
if P + "editor" not in st.session_state:
    st.session_state[P + "editor"] = architecture.text()
    st.session_state[P + "source"] = chosen.source if chosen is not None else EXAMPLES["social_video"].file
st.session_state.setdefault(P + "problem", "")
st.session_state.setdefault(P + "link_seen", "")
st.session_state.setdefault(P + "rev", 0)
st.session_state.setdefault(P + "ack", 0)

link_notice = ""
incoming = st.query_params.get(ARCH_PARAM)
if incoming and incoming != st.session_state[P + "link_seen"]:
    st.session_state[P + "link_seen"] = incoming
    try:
        text = architecture_from_param(incoming)
        link_notice = architecture.choose(text, "the link's architecture")
        if not link_notice:
            _replace(text, "shared.toml")
    except ValueError as exc:
        link_notice = str(exc)

st.title("Your own system")
st.markdown(TEXT["intro"].strip())

pick, upload = st.columns(2)
pick.selectbox("Start from an example", list(EXAMPLES), index=None, key=P + "example", on_change=_on_example,
               format_func=lambda n: EXAMPLES[n].title, placeholder="Choose an example…")
upload.file_uploader(f"…or upload a TOML file (at most {ARCHITECTURE_MAX_BYTES // 1024} KB)", type=["toml", "txt"],
                     key=P + "upload", on_change=_on_upload, max_upload_size=1,  # whole MB only: 1 is the least
                     help=say("upload_help", kb=ARCHITECTURE_MAX_BYTES // 1024, nodes=f"{MAX_NODES:,}"))

# Validate what is in the editor; a valid text becomes the session's architecture at once.
text = str(st.session_state[P + "editor"])
source = str(st.session_state[P + "source"])
upload_problem = st.session_state[P + "problem"]
text_problem = architecture.choose(text, source)
problem = upload_problem or text_problem

editor, ref = st.columns([3, 2])
with editor:
    editor_box(key=EDITOR_KEY, on_edit_change=_on_edit,
               data={"text": text, "rev": st.session_state[P + "rev"], "ack": st.session_state[P + "ack"],
                     "verdict": "invalid" if text_problem else "valid"})
with ref.container(height=520, border=True):
    st.markdown(archpage.reference())

status = st.empty()
if link_notice:
    status.error(say("link_failed") + "\n\n" + escape_md(link_notice), icon="⚠️")
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
if problem:
    st.caption(say("saved_last_valid", name=_name()))
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
what = st.radio("What fails", list(WHAT), format_func=WHAT.get, horizontal=True, key=P + "what")
nodes = [n for n in g if g.nodes[n].get("kind") != "feature"]
focus: tuple[str, ...] = ()
dependents: list = []
action: Intervention | None = None       # what "Run it" runs
action_problem = ""
named = ""                               # the failing thing in words (plain text)
if what == "hall":
    hall_ids = list(halls(g))
    hall = st.selectbox("Hall", hall_ids, index=0 if hall_ids else None, key=P + "hall",
                        format_func=lambda h: archpage.hall_choice(g, h), placeholder="Choose a hall…")
    if hall is not None and hall not in hall_ids:      # the architecture changed under the selection
        hall = None
    if hall is not None:
        named = halls(g)[hall]
        focus = tuple(hall_nodes(g, hall)) + (g.graph["pdu_of_hall"][hall],)
        dependents = hall_radius(g, hall)
elif what == "action":
    default_action = ex.action if ex is not None else ""
    st.session_state.setdefault(P + "action", default_action)
    typed = st.text_input("Intervention (as on the command line)", key=P + "action",
                          placeholder="e.g. capacity_loss node=database fraction=0.8 start_min=10 end_min=20",
                          help="KIND key=value …; kinds with a blast radius: "
                               + "; ".join(f"{k} ({KINDS[k].what})" for k in TARGETED))
    if typed.strip():
        try:
            action = parse(typed)
            action_problem = target_problem(action, g) or ""
            if not action_problem and action.kind not in TARGETED:
                action_problem = (f"{action.kind} acts everywhere at once, not on chosen nodes; "
                                  f"kinds with a blast radius: {', '.join(TARGETED)}")
        except InterventionError as exc:
            action_problem = str(exc)
        if action_problem:
            st.error(escape_md(action_problem), icon="⚠️")
            action = None
        else:
            named = _words(action, g)
            focus = touched(g, action)
            dependents = action_radius(g, action)
else:
    default = ex.node if ex is not None and ex.node in g else None
    index = nodes.index(default) if default in nodes else None
    node = st.selectbox("Node", nodes, index=index, key=P + "node", format_func=lambda n: archpage.node_choice(g, n),
                        placeholder="Choose a node…")
    if node is not None and node not in g:        # the architecture changed under the selection
        node = None
    if node is not None:
        named = archpage.label(g, node)
        focus = (node,)
        dependents = blast_radius(g, node)

hit = {d.feature for d in dependents} | {n for d in dependents for n in d.path}
st.iframe(architecture.drawing(architecture.text(), tuple(focus), frozenset(hit),
                               frozenset(archpage.hit_edges(dependents))),
          height=560, alt="Architecture graph")

if named:
    left, right = st.columns(2)
    with left:
        st.markdown("**Predicted before running** (the graph's paths):")
        st.markdown("\n".join(archpage.prediction_lines(g, None, dependents, what=named)))
    with right:
        if what == "node" and not can_stop(g, focus[0]):
            st.markdown(say("cannot_stop", kind=escape_md(g.nodes[focus[0]].get("kind", ""))))
        else:
            if what in ("node", "hall"):
                c1, c2 = st.columns(2)
                verb = ("Stop", "Restart") if what == "node" else ("Cut the hall's power", "Restore it")
                start = c1.number_input(f"{verb[0]} at minute", 1, 300, 10, key=P + "start")
                end = c2.number_input(f"{verb[1]} at minute", 2, 360, 20, key=P + "end")
                end = max(int(end), int(start) + 1)
                action = (Intervention("node_stop", start_min=float(start), end_min=float(end), node=focus[0])
                          if what == "node" else
                          Intervention("hall_power", start_min=float(start), end_min=float(end), hall=hall))
            assert action is not None
            last = action.end_min if action.end_min is not None else action.start_min + 60.0
            scenario = sim.Scenario(duration_min=float(min(last + 40.0, 24 * 60.0)), actions=(action,))
            if st.button("Run it", key=P + "run", type="primary"):
                st.session_state[P + "ran"] = scenario
            if st.session_state.get(P + "ran") == scenario:
                rows, fault = guard.attempt(lambda: runner.derived(
                    ("blast", action.text(), scenario), lambda: compare_with(dependents, runner.timeline(scenario))))
                if fault:
                    st.error(fault, icon="⚠️")
                elif rows is not None:
                    st.markdown(f"**What the run shows** ({escape_md(_words(action, g))}), "
                                "features in the order they failed:")
                    st.dataframe(archpage.comparison_rows(g, rows), hide_index=True, width="stretch")
                    missed = [archpage.label(g, r.feature) for r in rows if r.verdict == "not predicted, failed"]
                    kept = [archpage.label(g, r.feature) for r in rows if r.verdict == "predicted, kept working"]
                    if missed:
                        st.markdown(say("missed", count=escape_md(", ".join(missed))))
                    if kept:
                        st.markdown(say("absorbed", count=escape_md(", ".join(kept))))
                    stuck = [archpage.label(g, r.feature) for r in rows if r.failed_s is not None and r.recovered_s is None]
                    if stuck and action.end_min is not None:
                        st.markdown(say("stuck", count=escape_md(", ".join(stuck)),
                                        end=clock(action.end_min * 60.0)))
                    tl = runner.timeline(scenario)
                    backlog = [v for v in tl.metrics.get("backlog_events", []) if v == v]
                    if backlog and max(backlog) > 1:
                        st.markdown(say("backlog", peak=f"{max(backlog):,.0f}", end=f"{backlog[-1]:,.0f}"))

with st.expander("Every node as text", expanded=False):
    st.dataframe([{"id": n, "label": archpage.label(g, n), "kind": d.get("kind", ""),
                   "depends on": ", ".join(archpage.label(g, m) for m in g.successors(n))}
                  for n, d in g.nodes(data=True)], hide_index=True, width="stretch")
