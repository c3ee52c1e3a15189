"""Experiment: sweep one setting over a range with several seeds and plot an outcome with its spread.

Thin: link or widgets → base Scenario + sweep settings → sim.sweep (with a progress bar) → viz
chart → the page. Sweeps run only when asked (a button), in this process: one container serves a
whole class, so a sweep must not take every core.
"""

from __future__ import annotations

import streamlit as st

import sim
from sim.links import SWEEP_DEFAULTS, SWEEP_KEYS, SWEEP_LIMITS, sweep_from_params, sweep_to_params
from sim.sweep import KNOBS, compact, seeds_from, threshold, values_between
from classroom.ui import chart, title_with_presenter
from ui import guard, runner
from ui.widgets import (KEPT_SUFFIX, from_params, incoming_link, kept_widgets, page_url, share_bar, show_notices,
                        to_params, write_link)
from viz.whatif import SWEEP_OUTCOMES, escape_md, scenario_lines, sections, sweep_chart, sweep_frame

P = "exp."
TEXT = sections("experiment.md")
DEFAULT_PRESET = "retry_storm"


def _cfg_defaults() -> dict:
    return dict(SWEEP_DEFAULTS)


def _seed_widgets(preset: str, base: sim.Scenario, cfg: dict) -> None:
    st.session_state[P + "preset"] = preset
    st.session_state[P + "base"] = base
    st.session_state[P + "retry_policy"] = base.retry_policy
    st.session_state[P + "seed"] = int(base.seed)
    for k in SWEEP_KEYS:
        st.session_state[P + k] = cfg[k]


def _on_preset() -> None:
    s = sim.PRESETS[st.session_state[P + "preset"]].scenario
    st.session_state[P + "base"] = s
    st.session_state[P + "retry_policy"] = s.retry_policy


def _on_knob() -> None:
    k = KNOBS[st.session_state[P + "knob"]]
    st.session_state[P + "lo"], st.session_state[P + "hi"] = float(k.lo), float(k.hi)


def _use_lab() -> None:
    if "lab.scenario" in st.session_state:
        s = st.session_state["lab.scenario"]
        st.session_state[P + "preset"] = st.session_state.get("lab.preset" + KEPT_SUFFIX, DEFAULT_PRESET)
        st.session_state[P + "base"] = s
        st.session_state[P + "retry_policy"] = s.retry_policy
        st.session_state[P + "seed"] = int(s.seed)


KEPT = [P + k for k in ("preset", "retry_policy", "seed", *SWEEP_KEYS)]  # every widget of the page

kept_widgets(KEPT)
if P + "base" not in st.session_state:
    _seed_widgets(DEFAULT_PRESET, sim.PRESETS[DEFAULT_PRESET].scenario, _cfg_defaults())
    st.session_state.update({P + "notices": [], P + "notice_for": None, P + "result": None})

link_params = incoming_link(P + "url")
if link_params is not None:
    preset, base, notices = from_params(link_params, known_extra=SWEEP_KEYS, default_preset=DEFAULT_PRESET)
    cfg, more = sweep_from_params(link_params, SWEEP_OUTCOMES)
    _seed_widgets(preset, base, cfg)
    st.session_state[P + "notices"] = notices + more
    st.session_state[P + "notice_for"] = None

# ---- page -----------------------------------------------------------------------------------------
title_with_presenter("Experiment: find the tipping point")
st.markdown(TEXT["intro"])
notice_slot = st.empty()

c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
c1.selectbox("Start from preset", list(sim.PRESETS), key=P + "preset", on_change=_on_preset,
             format_func=lambda k: sim.PRESETS[k].title)
c2.selectbox("Retry policy", sim.scenario.CHOICES["retry_policy"], key=P + "retry_policy",
             help="What clients and services do after a failed call.")
c3.button("Use the Lab's settings", on_click=_use_lab, disabled="lab.scenario" not in st.session_state,
          help="Start from exactly what is set on the Lab page.")

k1, k2, k3 = st.columns([2, 1, 1])
k1.selectbox("Setting to vary", list(KNOBS), key=P + "knob", on_change=_on_knob, format_func=lambda k: KNOBS[k].label)
knob = KNOBS[st.session_state[P + "knob"]]
low, high = sim.scenario.RANGES[knob.name]
step, fmt = (1.0, "%.0f") if knob.integer else (0.05, "%.2f")
k2.number_input("From", min_value=float(low), max_value=float(high), step=step, format=fmt, key=P + "lo")
k3.number_input("To", min_value=float(low), max_value=float(high), step=step, format=fmt, key=P + "hi")
n1, n2, n3, n4 = st.columns(4)
n1.number_input("Values", min_value=SWEEP_LIMITS["points"][0], max_value=SWEEP_LIMITS["points"][1], step=1,
                key=P + "points", help="How many evenly spaced values between From and To.")
n2.number_input("Seeds per value", min_value=SWEEP_LIMITS["seeds"][0], max_value=SWEEP_LIMITS["seeds"][1], step=1,
                key=P + "seeds", help="Each value runs with this many seeds, starting at the first seed.")
n3.number_input("First seed", min_value=0, max_value=2**31 - 1, step=1, key=P + "seed")
n4.number_input("Window (minutes after the cut)", min_value=SWEEP_LIMITS["window"][0],
                max_value=SWEEP_LIMITS["window"][1], step=10.0, key=P + "window",
                help="Each run ends this long after the power cut.")
st.selectbox("Outcome to plot", list(SWEEP_OUTCOMES), key=P + "y", format_func=lambda k: SWEEP_OUTCOMES[k][0])
st.markdown(TEXT["window"])
kept_widgets(KEPT)

# ---- the configuration, in the URL ------------------------------------------------------------------
preset = st.session_state[P + "preset"]
error = ""
try:
    base = st.session_state[P + "base"].replace(retry_policy=st.session_state[P + "retry_policy"],
                                                seed=int(st.session_state[P + "seed"]))
except sim.ScenarioError as exc:
    base, error = st.session_state[P + "base"], str(exc)
st.session_state[P + "base"] = base
cfg = {k: st.session_state[P + k] for k in SWEEP_KEYS}
params = {**to_params(preset, base), **sweep_to_params(cfg)}
if st.session_state[P + "notices"] and st.session_state[P + "notice_for"] not in (None, params):
    st.session_state[P + "notices"] = []
st.session_state[P + "notice_for"] = params
write_link(P + "url", params)
show_notices(notice_slot, st.session_state[P + "notices"], error)
changed = scenario_lines(base, preset)
st.markdown("**Base scenario changed from the preset:** " + (escape_md("; ".join(changed)) if changed else "nothing."))

values = values_between(knob.name, min(cfg["lo"], cfg["hi"]), max(cfg["lo"], cfg["hi"]), int(cfg["points"]))
seeds = seeds_from(int(base.seed), int(cfg["seeds"]))
run_base = compact(base, window_min=float(cfg["window"]))
signature = (run_base, knob.name, tuple(values), tuple(seeds))
need = runner.experiment_estimate(run_base, knob.name, values, seeds)
too_big = need > runner.EXPERIMENT_BUDGET_S
st.markdown(f"{len(values)} values × {len(seeds)} seeds = **{len(values) * len(seeds)} runs** of "
            f"{run_base.duration_min:g} simulated minutes each (about {need:.0f} s of simulation).")
if too_big:
    st.warning(guard.text("refused", reason=guard.text("experiment_too_big", need=f"{need:.0f}",
                                                       limit=f"{runner.EXPERIMENT_BUDGET_S:.0f}")), icon="⚠️")

if st.button("Run experiment", type="primary", disabled=too_big):
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} runs")

    # Each run under its own time budget; a run that fails is named, the others still count.
    had = st.session_state.get(P + "result") is not None
    done, refused = guard.attempt(lambda: runner.experiment(run_base, knob.name, values, seeds, progress=progress,
                                                            had_result=had), budget=runner.EXPERIMENT_BUDGET_S * 2)
    result, failed = done if done is not None else (None, refused)
    if result is not None and result.points:  # else nothing to plot: the previous result stays
        st.session_state[P + "result"] = (signature, result)
    st.session_state[P + "failed"] = failed
    bar.empty()

stored = st.session_state.get(P + "result")
st.markdown(TEXT["results"])
if st.session_state.get(P + "failed"):
    st.warning(st.session_state[P + "failed"], icon="⚠️")
if stored is None:
    st.markdown("Press **Run experiment** to see the result.")
else:
    sig, result = stored
    if sig != signature:
        st.markdown("*The settings changed since this result was computed: press **Run experiment** to update it.*")
    chart(sweep_chart(result, cfg["y"]), width="stretch")
    tip = threshold(result)
    name = KNOBS[result.knob].label.lower()
    if tip:
        st.markdown(f"**Tipping point:** most runs recover at {name} = {tip[0]:g} and most do not at {tip[1]:g}.")
    else:
        st.markdown(f"**No tipping point in this range:** the share of runs that recover does not cross one "
                    f"half between neighbouring values of {name}.")
    frame = sweep_frame(result)
    with st.expander("Every run as a table"):
        st.dataframe(frame, hide_index=True)
    st.download_button("Experiment results (CSV)", frame.to_csv(index=False), "lights-out-experiment.csv", "text/csv",
                       on_click="ignore")

st.markdown("### Share\nThe link holds the base scenario and every setting of the experiment; the result is "
            "recomputed when the link is opened and **Run experiment** is pressed.")
share_bar(P + "export", prefix="lights-out-experiment")
st.code(page_url("experiment", params), language=None, wrap_lines=True)
