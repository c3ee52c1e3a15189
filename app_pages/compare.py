"""Compare: configurations A and B on the same seed — charts side by side and a table of outcomes.

Thin: link or widgets → two Scenarios → ui.runner (kept for everyone) → viz.charts / sim.outcomes → the page.
The URL holds both configurations ("a." and "b." settings); a bad link is clamped with a notice.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import sim
from sim.__main__ import scenario_toml
from sim.outcomes import format_value
from classroom.ui import chart, title_with_presenter
from ui import guard, runner
from ui.widgets import (control, ensure_widgets, from_params, incoming_link, kept_widgets, new_seed, page_url,
                        read_widgets, seed_widgets, share_bar, show_notices, to_params, write_link)
from viz.charts import CHART_IDS
from viz.whatif import controls, escape_md, outcome_frame, scenario_lines, sections

ROOT = Path(__file__).resolve().parent.parent
P = "cmp."
SIDES = ("a", "b")
# The settings that make the instructive differences; the rest follow the preset (or the link).
SHOWN = ("retry_policy", "max_retries", "circuit_breaker", "load_shedding", "failover_headroom", "ups_minutes",
         "generator", "cooling_on_generator", "counter_fallback", "load")
CTRLS = [c for c in controls() if c.name in SHOWN]
TEXT = sections("compare.md")
DEFAULTS = {"a": ("retry_storm", sim.PRESETS["retry_storm"].scenario),
            "b": ("retry_storm", sim.PRESETS["retry_storm"].scenario.replace(retry_policy="backoff"))}
CHART_TITLES = {"feed_quality": "Feed quality", "views": "View counters", "login": "Login success",
                "upload": "Upload success", "load_time": "Feed load time", "earnings": "Earnings",
                "retries": "Retry amplification", "backlog": "Event backlog"}



def _key(side: str, name: str) -> str:
    return f"{P}{side}.{name}"


def _on_preset(side: str) -> None:
    s = sim.PRESETS[st.session_state[_key(side, "preset")]].scenario
    st.session_state[_key(side, "scenario")] = s
    seed_widgets(f"{P}{side}.", s, SHOWN)


def _apply(params: dict[str, str]) -> list[str]:
    notices: list[str] = []
    scen = {}
    for side in SIDES:
        preset, s, n = from_params(params, prefix=f"{side}.", default_preset=DEFAULTS[side][0])
        notices += [f"{side.upper()}: {x}" for x in n]
        st.session_state[_key(side, "preset")] = preset
        scen[side] = s
    for key in params:
        if not key.startswith(("a.", "b.")):
            notices.append(f"ignored unknown setting {key[:40]!r}")
    if scen["a"].seed != scen["b"].seed:
        notices.append(f"A and B run on the same seed; using A's seed {scen['a'].seed}")
    for side in SIDES:
        st.session_state[_key(side, "scenario")] = scen[side]
        seed_widgets(f"{P}{side}.", scen[side], SHOWN)
    st.session_state[P + "seed"] = scen["a"].seed
    return notices


KEPT = [P + "seed", *(_key(side, "preset") for side in SIDES)]  # widgets read before they are drawn

kept_widgets(KEPT)
if P + "seed" not in st.session_state:
    for side in SIDES:
        st.session_state[_key(side, "preset")], st.session_state[_key(side, "scenario")] = DEFAULTS[side]
        seed_widgets(f"{P}{side}.", DEFAULTS[side][1], SHOWN)
    st.session_state.update({P + "seed": 1, P + "notices": [], P + "notice_for": None})

link_params = incoming_link(P + "url")
if link_params is not None:
    st.session_state[P + "notices"] = _apply(link_params)
    st.session_state[P + "notice_for"] = None
else:
    for side in SIDES:
        ensure_widgets(f"{P}{side}.", st.session_state[_key(side, "scenario")], SHOWN)
        st.session_state.setdefault(_key(side, "preset"), DEFAULTS[side][0])

# Read the widgets and simulate both sides before anything is drawn: if a run fails, both sides and the
# seed go back to the last pair that worked (which stays on the page), and the notice says why.
scenarios: dict[str, sim.Scenario] = {}
errors = []
for side in SIDES:
    base = st.session_state[_key(side, "scenario")].replace(seed=int(st.session_state[P + "seed"]))
    s, err = read_widgets(f"{P}{side}.", base, SHOWN)
    if err:
        errors.append(f"{side.upper()}: {err}")
    scenarios[side] = s


def _simulate_both() -> tuple[dict | None, str]:
    """(runs of A and B, "") or (None, which side failed and why)."""
    runs = {}
    for side in SIDES:
        runs[side], why = guard.attempt(lambda: runner.compare(scenarios[side]))
        if why:
            return None, f"{side.upper()}: {why}"
    return runs, ""


runs, fault = _simulate_both()
if fault and P + "good" in st.session_state:
    good = st.session_state[P + "good"]
    st.session_state[P + "seed"] = good["seed"]
    for side in SIDES:
        st.session_state[_key(side, "preset")], scenarios[side] = good[side]
        seed_widgets(f"{P}{side}.", scenarios[side], SHOWN)
    runs, _ = _simulate_both()
    fault = guard.text("kept" if runs is not None else "first", reason=fault)
elif fault:
    fault = guard.text("first", reason=fault)
else:
    st.session_state[P + "good"] = {"seed": st.session_state[P + "seed"],
                                    **{x: (st.session_state[_key(x, "preset")], scenarios[x]) for x in SIDES}}
for side in SIDES:
    st.session_state[_key(side, "scenario")] = scenarios[side]

# ---- page -----------------------------------------------------------------------------------------
title_with_presenter("Compare: A against B")
st.markdown(TEXT["intro"])
notice_slot = st.empty()

st.number_input("Seed (shared by A and B)", min_value=0, max_value=2**31 - 1, step=1, key=P + "seed")
st.button("New seed", on_click=new_seed, args=(P + "seed",))

for side, col in zip(SIDES, st.columns(2)):
    with col:
        st.subheader(f"Configuration {side.upper()}")
        st.selectbox(f"Preset for {side.upper()}", list(sim.PRESETS), key=_key(side, "preset"),
                     on_change=_on_preset, args=(side,), format_func=lambda k: sim.PRESETS[k].title)
        with st.expander(f"Settings of {side.upper()}", expanded=True):
            for c in CTRLS:
                control(c, f"{P}{side}.", show_help=False)
        changed = scenario_lines(scenarios[side], st.session_state[_key(side, "preset")])
        st.markdown("**Changed from the preset:** " + (escape_md("; ".join(changed)) if changed else "nothing."))
kept_widgets(KEPT)

params = {**to_params(st.session_state[_key("a", "preset")], scenarios["a"], "a."),
          **to_params(st.session_state[_key("b", "preset")], scenarios["b"], "b.")}
if st.session_state[P + "notices"] and st.session_state[P + "notice_for"] not in (None, params):
    st.session_state[P + "notices"] = []
st.session_state[P + "notice_for"] = params
write_link(P + "url", params)
show_notices(notice_slot, st.session_state[P + "notices"], "; ".join(errors), fault)
if runs is None:
    st.stop()

st.markdown(TEXT["outcomes"])
verdict = []
for side in SIDES:
    o = runs[side]["outcome"]
    word = "recovers" if o.recovered else "does not recover"
    restores = [t for t, on in scenarios[side].utility_flips() if on]
    gens = o.power_back_s is not None and bool(restores) and o.power_back_s < restores[-1]
    where = (" (" + " ".join(TEXT["generators"].format(back=sim.clock(o.power_back_s),
                                                       utility=sim.clock(restores[-1])).split()) + ")") if gens else ""
    verdict.append(f"**{side.upper()} {word}** — time to recover after power is back at the servers: "
                   f"{escape_md(format_value(o, 'recover_after_power_min'))}{where}.")
st.markdown("  \n".join(verdict))
st.table(outcome_frame({"A": runs["a"]["outcome"], "B": runs["b"]["outcome"]}), hide_index=True)

st.markdown(TEXT["charts"])
for side, col in zip(SIDES, st.columns(2)):
    key = runs[side].get("milestones", [])
    col.markdown(f"**{side.upper()}:** " + (" · ".join(f"**{n}** {escape_md(label)} {clock}" for n, label, clock in key)
                                            or "nothing happened."))
picked = st.multiselect("Charts", CHART_IDS, default=["login", "retries", "views", "backlog"],
                        format_func=lambda k: CHART_TITLES.get(k, k), key=P + "charts")
for cid in picked:
    left, right = st.columns(2)
    for side, col in zip(SIDES, (left, right)):
        with col:
            st.markdown(f"**{side.upper()}**")
            chart(runs[side]["charts"][cid], width="stretch")

st.markdown(TEXT["share"])
share_bar(P + "export")
st.code(page_url("compare", params), language=None, wrap_lines=True)
cols = st.columns(4)
for i, side in enumerate(SIDES):
    cols[2 * i].download_button(f"{side.upper()}: metrics (CSV)", runner.csv(scenarios[side], "metrics"),
                                f"lights-out-{side}-metrics.csv", "text/csv", on_click="ignore")
    cols[2 * i + 1].download_button(f"{side.upper()}: scenario (TOML)",
                                    scenario_toml(st.session_state[_key(side, "preset")], scenarios[side]),
                                    f"lights-out-{side}-scenario.toml", "application/toml", on_click="ignore")
