"""The Lab: every scenario control, presets, the player showing the result, outcomes, link and export.

Thin on purpose: link or widgets → a Scenario → ui.runner (kept for everyone) → viz (player payload, outcomes,
chart specs) → the page. The whole configuration lives in the URL (sim.links); a bad link opens
the nearest valid settings with a notice.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import sim
from sim import operator
from sim.__main__ import scenario_toml
from classroom.ui import presenting, title_with_presenter
from ui import architecture, guard, runner
from ui.widgets import (control, ensure_widgets, from_params, incoming_link, kept_widgets, new_seed, page_url,
                        read_widgets, seed_widgets, share_bar, show_notices, to_params, write_link)
from viz.presenter import presenter_payload
from viz.whatif import controls, escape_md, groups, outcome_frame, scenario_lines, sections

ROOT = Path(__file__).resolve().parent.parent
P = "lab."                      # session-state prefix of this page's widgets
FIELDS = [c.name for c in controls()]
TEXT = sections("lab.md")

player = st.components.v2.component(
    "lights_out_lab_player",
    html=(ROOT / "assets" / "player" / "player.html").read_text(encoding="utf-8"),
    css=(ROOT / "assets" / "player" / "player.css").read_text(encoding="utf-8"),
    js=(ROOT / "assets" / "player" / "player.js").read_text(encoding="utf-8"),
    isolate_styles=False,
)


# ---- state and callbacks (callbacks run before the script body) ---------------------------------
def _on_preset() -> None:
    s = sim.PRESETS[st.session_state[P + "preset"]].scenario.replace(seed=st.session_state[P + "seed"])
    seed_widgets(P, s, FIELDS)
    st.session_state[P + "epoch"] += 1


def _from_player(trigger: str, what: str, change) -> None:
    """A request from the player (acknowledged by its click id): `change(scenario, request, minute)` gives
    the new scenario, which the widgets take; a bad request is said, never raised."""
    req = st.session_state[P + "player"].get(trigger)
    if not isinstance(req, dict) or req.get("click_id") == st.session_state[P + "ack"]:
        return
    st.session_state[P + "ack"] = str(req.get("click_id", ""))
    s: sim.Scenario = st.session_state[P + "scenario"]
    try:
        t_min = min(max(float(req["t"]), 0.0), s.duration_min * 60) / 60
        seed_widgets(P, change(s, req, t_min), FIELDS)
    except (KeyError, TypeError, ValueError) as exc:  # ActionError and ScenarioError are ValueErrors
        st.session_state[P + "error"] = f"{what}: {exc}"


def _on_switch() -> None:
    _from_player("power_switch", "The switch could not be applied",
                 lambda s, req, t: s.with_power_flip(t, bool(req["on"])))


def _on_act() -> None:
    """An operator action from the player (sim.operator): it becomes one of the scheduled changes."""
    _from_player("act", "That action could not be taken",
                 lambda s, req, t: operator.act(s, str(req.get("name")), t, req.get("value"), req.get("node"),
                                                architecture.graph()))


if P + "scenario" not in st.session_state:
    st.session_state.update({P + "scenario": sim.PRESETS[sim.DEFAULT_PRESET].scenario, P + "preset": sim.DEFAULT_PRESET,
                             P + "epoch": 0, P + "ack": "", P + "error": "", P + "notices": []})
    seed_widgets(P, st.session_state[P + "scenario"], FIELDS)
kept_widgets([P + "preset"])

link_params = incoming_link(P + "url")
if link_params is not None:  # a link was opened (or edited by hand): it wins over the widgets
    preset, s, notices = from_params(link_params)
    st.session_state[P + "preset"] = preset
    seed_widgets(P, s, FIELDS)
    st.session_state[P + "notices"] = notices
    st.session_state[P + "notice_for"] = None
    st.session_state[P + "epoch"] += 1
else:
    ensure_widgets(P, st.session_state[P + "scenario"], FIELDS)

# Read the widgets and simulate before they are drawn: if the run fails, they go back to the last run
# that worked (which the player keeps showing), and the notice says why.
scenario, error = read_widgets(P, st.session_state[P + "scenario"], FIELDS)
view, fault = guard.attempt(lambda: runner.lab(scenario))
if fault and P + "good" in st.session_state:
    st.session_state[P + "preset"], scenario, st.session_state[P + "epoch"] = st.session_state[P + "good"]
    seed_widgets(P, scenario, FIELDS)
    view, _ = guard.attempt(lambda: runner.lab(scenario))
    fault = guard.text("kept" if view is not None else "first", reason=fault)
elif fault:
    fault = guard.text("first", reason=fault)
else:
    st.session_state[P + "good"] = (st.session_state[P + "preset"], scenario, st.session_state[P + "epoch"])

# ---- page -----------------------------------------------------------------------------------------
title_with_presenter("Lab: what if…?")
st.markdown(TEXT["intro"])
notice_slot = st.empty()  # always present, so nothing above the player appears or disappears

st.selectbox("Preset", list(sim.PRESETS), key=P + "preset", on_change=_on_preset,
             format_func=lambda k: sim.PRESETS[k].title)
kept_widgets([P + "preset"])
preset = sim.PRESETS[st.session_state[P + "preset"]]
st.markdown(preset.summary)
with st.expander(f"About this preset: {preset.title}"):
    st.markdown(preset.description)

st.markdown(TEXT["controls"])
ctrl_groups = groups(controls())
for tab, (name, group) in zip(st.tabs(list(ctrl_groups)), ctrl_groups.items()):
    with tab:
        for c in (c for c in group if c.name == "actions"):     # a text of several lines: full width
            control(c, P)
        cols = st.columns(3)
        for i, c in enumerate(c for c in group if c.name != "actions"):
            with cols[i % 3]:
                control(c, P)
        if name.startswith("Seed"):
            st.button("New seed", on_click=new_seed, args=(P + "seed",),
                      help="Pick a random seed: boot times and demand noise change, the settings do not.")

error = error or st.session_state[P + "error"]
st.session_state[P + "error"] = ""
st.session_state[P + "scenario"] = scenario
params = to_params(preset.name, scenario)
if st.session_state[P + "notices"] and st.session_state.get(P + "notice_for") not in (None, params):
    st.session_state[P + "notices"] = []  # the visitor changed something since the link was opened
st.session_state[P + "notice_for"] = params
write_link(P + "url", params)
show_notices(notice_slot, st.session_state[P + "notices"], error, fault)

changed = scenario_lines(scenario, preset.name)
st.markdown("**Changed from the preset:** " + (escape_md("; ".join(changed)) if changed else "nothing yet."))

if view is None:
    st.stop()

st.markdown(TEXT["results"])
data = dict(presenter_payload(view["payload"], presenting()), ack=st.session_state[P + "ack"], epoch=st.session_state[P + "epoch"], actions_enabled=True)
player(key=P + "player", data=data, on_power_switch_change=_on_switch, on_act_change=_on_act)

st.markdown(TEXT["outcomes"])
st.table(outcome_frame({"This run": view["outcome"]}), hide_index=True)
st.markdown("\n".join(f"- {escape_md(line)}" for line in view["summary"]))

st.markdown(TEXT["share"])
share_bar(P + "export", view["export"], f"lights-out-{preset.name}")
st.markdown("Link to this run:")
st.code(page_url("lab", params), language=None, wrap_lines=True)
d1, d2, d3 = st.columns(3)
d1.download_button("Metrics (CSV)", runner.csv(scenario, "metrics"), "lights-out-metrics.csv", "text/csv",
                   on_click="ignore")
d2.download_button("Events (CSV)", runner.csv(scenario, "events"), "lights-out-events.csv", "text/csv",
                   on_click="ignore")
d3.download_button("Scenario for the CLI (TOML)", scenario_toml(preset.name, scenario), "lights-out-scenario.toml",
                   "application/toml", on_click="ignore")
