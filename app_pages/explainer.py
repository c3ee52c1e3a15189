"""The explainer page: a power switch, the dependency graph failing step by step, charts, event log.

Thin on purpose: widgets and the switch → a Scenario → ui.runner (kept for everyone) → viz payload → one
browser-side player component. Playback runs in the browser; the server only reruns when an input
changes. The component is always mounted at the same place with the same key, so new data never
remounts it (the player keeps its clock).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import streamlit as st

import sim
from sim import operator
from ui import guard, runner

ROOT = Path(__file__).resolve().parent.parent
PLAYER_DIR = ROOT / "assets" / "player"
INTRO, _, ABOUT = (ROOT / "assets" / "explainer.md").read_text(encoding="utf-8").partition("<!-- split -->")
FREE_PLAY = "free_play"

player = st.components.v2.component(
    "lights_out_player",
    html=(PLAYER_DIR / "player.html").read_text(encoding="utf-8"),
    css=(PLAYER_DIR / "player.css").read_text(encoding="utf-8"),
    js=(PLAYER_DIR / "player.js").read_text(encoding="utf-8"),
    isolate_styles=False,  # in the page DOM, not a shadow root: one document for keys, tests, axe
)


def presets() -> dict[str, object]:
    """Free play (power on, nothing scheduled) first, then the model's presets."""
    free = SimpleNamespace(
        title="Free play — power on, you hold the switch",
        summary="Nothing is scheduled: the data center runs normally until you flip the switch.",
        description="Every other setting is the model's default, as in the story as reported.",
        scenario=sim.FREE_PLAY,
    )
    return {FREE_PLAY: free, **sim.PRESETS}


def view(state: dict) -> dict:
    """What the player gets (ui/runner.py decides: the first minutes after a flip, then the rest)."""
    first, rest = state.get("first"), state.pop("rest", False)
    payload = runner.player(state["scenario"], first_from_min=first, rest=rest)
    if not payload.get("partial"):
        state["first"] = None
    return payload


# ---- state and callbacks (callbacks run before the script body) ---------------------------------
# The page's own state lives in one dict that survives visits to other pages (Streamlit forgets the
# values of widgets that were not drawn in a run); widget keys are prefixed so pages never collide.
W_PRESET, W_CUT, W_RESTORE, PLAYER_KEY = "explainer_preset", "explainer_cut_min", "explainer_restore_min", "explainer_player"


def _state() -> dict:
    if "explainer" not in st.session_state:
        st.session_state.explainer = {"preset": FREE_PLAY, "scenario": presets()[FREE_PLAY].scenario,
                                      "epoch": 0, "ack": "", "error": "", "first": None}
    return st.session_state.explainer


def _sync_widgets(state: dict) -> None:
    st.session_state[W_PRESET] = state["preset"]
    st.session_state[W_CUT] = state["scenario"].power_cut_min
    st.session_state[W_RESTORE] = state["scenario"].power_restored_min


def _on_preset() -> None:
    state = _state()
    state.update(preset=st.session_state[W_PRESET], scenario=presets()[st.session_state[W_PRESET]].scenario,
                 epoch=state["epoch"] + 1, error="", first=None, history=[])
    _sync_widgets(state)


def _on_schedule() -> None:
    state = _state()
    try:
        state["scenario"] = state["scenario"].replace(
            power_cut_min=st.session_state[W_CUT], power_restored_min=st.session_state[W_RESTORE])
        state["error"], state["first"] = "", None
    except sim.ScenarioError as exc:
        state["error"] = f"That schedule cannot be used: {exc}"


def _on_switch() -> None:
    state = _state()
    flip = st.session_state[PLAYER_KEY].get("power_switch")
    if not isinstance(flip, dict) or flip.get("click_id") == state["ack"]:
        return
    state["ack"] = str(flip.get("click_id", ""))
    s = state["scenario"]
    try:
        t_s = min(max(float(flip["t"]), 0.0), s.duration_min * 60)
        state["scenario"] = s.with_power_flip(t_s / 60, bool(flip["on"]))
        state["error"], state["first"] = "", t_s / 60
        state.setdefault("history", []).append((t_s, s))
    except (KeyError, TypeError, ValueError) as exc:  # ScenarioError is a ValueError
        state["error"] = f"The switch could not be applied: {exc}"
    _sync_widgets(state)


def _on_act() -> None:
    """An operator action (or Undo) from the player, at the player's time: a new intervention from that
    moment (sim.operator), or back to the run before the actions taken after it."""
    state = _state()
    req = st.session_state[PLAYER_KEY].get("act")
    if not isinstance(req, dict) or req.get("click_id") == state["ack"]:
        return
    state["ack"] = str(req.get("click_id", ""))
    s = state["scenario"]
    history = state.setdefault("history", [])
    state["act_error"] = ""
    try:
        t_s = min(max(float(req["t"]), 0.0), s.duration_min * 60)
        if req.get("name") == "Undo":
            later = [i for i, (t, _) in enumerate(history) if t > t_s + 1e-6]
            if later:
                state["scenario"] = history[later[0]][1]
                del history[later[0]:]
            state["first"] = None
        else:
            state["scenario"] = operator.act(s, str(req.get("name")), t_s / 60, req.get("value"), req.get("node"),
                                             sim.default_architecture())
            history.append((t_s, s))
            state["first"] = t_s / 60
        state["error"] = ""
    except (KeyError, TypeError, ValueError) as exc:  # ActionError and ScenarioError are ValueErrors
        state["act_error"] = f"That action could not be taken: {exc}"
    _sync_widgets(state)


def _on_rest() -> None:
    """The player has the first minutes of a run and asks for all of it (queued behind other rests)."""
    _state().update(first=None, rest=True)


# ---- page -----------------------------------------------------------------------------------------
# Start loading the graph library while the rest of the page renders (the player reuses it).
st.sidebar.html('<script src="app/static/vendor/vis-network.min.js"></script>', unsafe_allow_javascript=True)
st.title("Lights Out: a power cut, step by step")
st.markdown(INTRO)


@st.fragment
def explainer() -> None:
    """The interactive part. A fragment, so a flip of the switch or a changed input reruns only
    this (the player and its controls), not the page's prose around it.

    The preset picker and the scheduled times sit in a popover: Streamlit renders a popover's
    content only when it is opened, so their ~25 lazy JavaScript chunks stay off the path to the
    graph (a browser opens six connections to the server; the graph's library queued behind them).
    """
    state = _state()
    options = presets()
    if state["preset"] not in options:
        state["preset"] = FREE_PLAY
    if any(k not in st.session_state for k in (W_PRESET, W_CUT, W_RESTORE)):
        _sync_widgets(state)

    # Simulate before any widget is drawn: if the run fails, the page goes back to the last run that
    # worked — scenario, widgets and the player's switch all agree with what is shown — and says why.
    payload, fault = guard.attempt(lambda: view(state))
    if fault and state.get("good"):
        state.update(state["good"])
        _sync_widgets(state)
        payload, _ = guard.attempt(lambda: view(state))
        fault = guard.text("kept" if payload is not None else "first", reason=fault)
    elif fault:
        fault = guard.text("first", reason=fault)
    else:
        # A whole run that fails after its first minutes keeps those (same payload: not asked for again).
        state["good"] = {"preset": state["preset"], "scenario": state["scenario"], "epoch": state["epoch"],
                         "first": state["first"]}

    error_slot = st.empty()  # always present, so nothing above the player appears or disappears
    scenario: sim.Scenario = state["scenario"]
    chosen = options[state["preset"]]
    limit = float(scenario.duration_min)
    with st.popover("Scenario and scheduled times", icon=":material/tune:"):
        st.selectbox("Scenario", list(options), key=W_PRESET, on_change=_on_preset,
                     format_func=lambda k: options[k].title)
        st.number_input("Scheduled power cut (minute)", min_value=0.0, max_value=limit, step=1.0, value=None,
                        key=W_CUT, placeholder="never", on_change=_on_schedule,
                        help="Minute of the run when the utility feed fails. Empty = never.")
        st.number_input("Scheduled restore (minute)", min_value=0.0, max_value=limit, step=1.0, value=None,
                        key=W_RESTORE, placeholder="never", on_change=_on_schedule,
                        help="Minute of the run when the utility feed comes back. Empty = never.")
    st.markdown(chosen.summary)

    if fault or state["error"]:
        error_slot.error(fault or state["error"])
    if payload is None:
        return

    history = state.get("history", [])
    player(key=PLAYER_KEY, data=dict(payload, ack=state["ack"], epoch=state["epoch"],
                                     act_error=state.get("act_error", ""),
                                     undo_after=max((t for t, _ in history), default=None)),
           on_power_switch_change=_on_switch, on_act_change=_on_act, on_rest_change=_on_rest)

    with st.expander(f"About this scenario: {chosen.title}"):
        st.markdown(chosen.description)


explainer()
st.markdown(ABOUT)
