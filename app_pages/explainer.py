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
from sim import challenge, operator
from sim.interventions import InterventionError, parse_list
from classroom.ui import chart, presenting, title_with_presenter
from ui import architecture, guard, runner
from viz.challenge import card_rows, plans_chart
from viz.presenter import presenter_payload

ROOT = Path(__file__).resolve().parent.parent
PLAYER_DIR = ROOT / "assets" / "player"
INTRO, _, ABOUT = (ROOT / "assets" / "explainer.md").read_text(encoding="utf-8").partition("<!-- split -->")
CHALLENGE_TEXT, _, CARD_TEXT = (ROOT / "assets" / "challenge.md").read_text(encoding="utf-8").partition("<!-- card -->")
FREE_PLAY, CHALLENGE = "free_play", "challenge"

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
    bring_back = SimpleNamespace(
        title="Bring it back — a challenge: the power is back, the app is stuck",
        summary=CHALLENGE_TEXT,
        description="The default settings: the utility feed fails at 0:15 and returns at 1:15, the generators "
                    "fail to start, clients retry at once, and nobody acts — until you do.",
        scenario=challenge.SCENARIO,
    )
    return {FREE_PLAY: free, CHALLENGE: bring_back, **sim.PRESETS}


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


def _request(state: dict, trigger: str) -> dict | None:
    """The player's new request on `trigger` (None if there is none or it was answered already);
    answering it is acknowledged by its click id, which the player waits for."""
    req = st.session_state[PLAYER_KEY].get(trigger)
    if not isinstance(req, dict) or req.get("click_id") == state["ack"]:
        return None
    state["ack"], state["act_error"] = str(req.get("click_id", "")), ""
    return req


def _at(req: dict, s: sim.Scenario) -> float:
    """The request's simulated second, within the run (KeyError, TypeError, ValueError if unreadable)."""
    return min(max(float(req["t"]), 0.0), s.duration_min * 60)


def _on_switch() -> None:
    state = _state()
    flip = _request(state, "power_switch")
    if flip is None:
        return
    s = state["scenario"]
    try:
        t_s = _at(flip, s)
        _challenge_allows(state, t_s)
        state["scenario"] = s.with_power_flip(t_s / 60, bool(flip["on"]))
        state["error"], state["first"] = "", t_s / 60
        state.setdefault("history", []).append((t_s, s))
    except (KeyError, TypeError, ValueError) as exc:  # ScenarioError is a ValueError
        state["error"] = f"The switch could not be applied: {exc}"
        state["act_error"] = state["error"]
    _sync_widgets(state)


def _on_act() -> None:
    """An operator action (or Undo) from the player, at the player's time: a new intervention from that
    moment (sim.operator), or back to the run before the actions taken after it."""
    state = _state()
    req = _request(state, "act")
    if req is None:
        return
    s = state["scenario"]
    history = state.setdefault("history", [])
    try:
        t_s = _at(req, s)
        if req.get("name") == "Undo":
            later = [i for i, (t, _) in enumerate(history) if t > t_s + 1e-6]
            if later:
                state["scenario"] = history[later[0]][1]
                del history[later[0]:]
            state["first"] = None
        else:
            _challenge_allows(state, t_s)
            state["scenario"] = operator.act(s, str(req.get("name")), t_s / 60, req.get("value"), req.get("node"),
                                             architecture.graph())
            history.append((t_s, s))
            state["first"] = t_s / 60
        state["error"] = ""
    except (KeyError, TypeError, ValueError) as exc:  # ActionError and ScenarioError are ValueErrors
        state["act_error"] = f"That action could not be taken: {exc}"
    _sync_widgets(state)


def _challenge_allows(state: dict, t_s: float) -> None:
    """In the challenge: actions from the moment the power is back, and no more than the budget."""
    if state["preset"] != CHALLENGE:
        return
    if t_s < challenge.START_MIN * 60 - 1e-6:
        raise ValueError(f"the challenge starts at {sim.clock(challenge.START_MIN * 60)}, when the power is back")
    if len(state.get("history", [])) >= challenge.BUDGET:
        raise ValueError(f"you have used your {challenge.BUDGET} actions (step back and Undo to change your plan)")


def _on_rest() -> None:
    """The player has the first minutes of a run and asks for all of it (queued behind other rests)."""
    _state().update(first=None, rest=True)


# ---- page -----------------------------------------------------------------------------------------
# Start loading the graph library while the rest of the page renders (the player reuses it).
st.sidebar.html('<script src="app/static/vendor/vis-network.min.js"></script>', unsafe_allow_javascript=True)
title_with_presenter("Lights Out: a power cut, step by step")
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
    playing_challenge = state["preset"] == CHALLENGE
    player(key=PLAYER_KEY, data=dict(presenter_payload(payload, presenting()), ack=state["ack"], epoch=state["epoch"], actions_enabled=True,
                                     act_error=state.get("act_error", ""),
                                     undo_after=max((t for t, _ in history), default=None),
                                     challenge={"start": challenge.START_MIN * 60, "budget": challenge.BUDGET,
                                                "used": len(history)} if playing_challenge else None),
           on_power_switch_change=_on_switch, on_act_change=_on_act, on_rest_change=_on_rest)

    with st.expander(f"About this scenario: {chosen.title}"):
        st.markdown(chosen.description)
    if playing_challenge:
        outcome(state)


def _plan_link(s: sim.Scenario) -> str:
    """A link that replays a plan: the challenge and the operator actions taken (text form)."""
    from urllib.parse import urlencode  # noqa: PLC0415

    plan = ";".join(a.text() for a in s.actions if a.kind in operator.OPERATOR_KINDS or a.start_min >= challenge.START_MIN)
    base = str(st.context.url or "").split("?")[0]
    return base + "?" + urlencode({"challenge": "1", "plan": plan})


def plan_from_text(text: str) -> sim.Scenario:
    """A plan as a link carries it (`plan=KIND k=v;…`) → the challenge's scenario with those actions
    (only actions from the moment the power is back; ValueError names what is wrong)."""
    actions = parse_list(text)
    for a in actions:
        if a.start_min < challenge.START_MIN:
            raise ValueError(f"{a.text()}: the challenge's actions start at {sim.clock(challenge.START_MIN * 60)} or later")
    return challenge.SCENARIO.replace(actions=challenge.SCENARIO.actions + actions)


def _read_link(state: dict) -> None:
    """A shared challenge link (`?challenge=1&plan=…`), once per session: that plan, replayed."""
    if state.get("link_read") or st.query_params.get("challenge") != "1":
        return
    state["link_read"] = True
    try:
        scenario = plan_from_text(st.query_params.get("plan", ""))
    except (InterventionError, ValueError) as exc:
        state["error"] = f"The link's plan could not be read: {exc}"
        scenario = challenge.SCENARIO
    # Each of the plan's actions counts against the budget and can be undone, latest first.
    history, before = [], challenge.SCENARIO
    for a in scenario.actions:
        if a.start_min >= challenge.START_MIN:
            history.append((a.start_min * 60, before))
            before = before.replace(actions=before.actions + (a,))
    state.update(preset=CHALLENGE, scenario=scenario, epoch=state["epoch"] + 1, first=None, history=history)
    _sync_widgets(state)


def outcome(state: dict) -> None:
    """The challenge's outcome card: your plan against doing nothing and the best plan the model finds."""
    st.subheader("How did you do?")
    if not st.button("How did I do?", key="challenge_score", type="primary"):
        st.caption("Play the incident, take your actions, then press the button. "
                   "The first time, the model searches for the best plan (about half a minute, once for everyone).")
        return
    with st.spinner("The model is trying actions at different moments to find the best plan…"):
        best, why = guard.attempt(runner.challenge_best)
        yours, why_yours = guard.attempt(lambda: runner.challenge_card(state["scenario"]))
        nothing, _ = guard.attempt(lambda: runner.challenge_card(challenge.SCENARIO))
    if yours is None or nothing is None:
        st.error(why_yours or "The outcome could not be computed.")
        return
    cards = {"Your plan": yours, "Doing nothing": nothing}
    if best is not None:
        cards["Best plan found"] = best.card
    with st.container(border=True, key="challenge_card"):
        st.markdown(CARD_TEXT.format(
            yours=f"{yours.total_min:.0f}", nothing=f"{nothing.total_min:.0f}",
            best=f"; the best plan the model found: {best.card.total_min:.0f} minutes" if best else "",
            lost="not readable" if yours.events_lost is None else f"{yours.events_lost:g}"))
        st.table(card_rows(cards))
        if best is not None:
            st.caption(f"Best plan found by trying {best.tried} plans (greedy search over moments from "
                       f"{sim.clock(challenge.START_MIN * 60)}, {best.seconds:.0f} s"
                       + ("" if best.complete else "; stopped at its time limit") + ").")
        else:
            st.caption(f"The best plan could not be searched now: {why}")
    st.markdown("**Share your plan** — this link replays it:")
    st.code(_plan_link(state["scenario"]), language=None)


def compare_plans() -> None:
    """For teachers: paste the class's links, see every plan's harm on one chart."""
    with st.expander("Teachers: compare the class's plans (paste their links)"):
        text = st.text_area("Links, one a line", key="challenge_links", height=120,
                            placeholder="http://…/?challenge=1&plan=shed_load+start_min%3D80")
        if not text.strip():
            return
        from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415

        cards, problems = {}, []
        for n, line in enumerate((x for x in text.splitlines() if x.strip()), start=1):
            if n > 40:
                problems.append("only the first 40 links are compared")
                break
            try:
                plan = plan_from_text(parse_qs(urlsplit(line.strip()).query).get("plan", [""])[0])
                card, why = guard.attempt(lambda p=plan: runner.challenge_card(p))
                if card is None:
                    raise ValueError(why)
                cards[f"Plan {n}"] = card
            except (InterventionError, ValueError) as exc:
                problems.append(f"line {n}: {exc}")
        nothing, _ = guard.attempt(lambda: runner.challenge_card(challenge.SCENARIO))
        if nothing is not None:
            cards["Doing nothing"] = nothing
        for p in problems:
            st.warning(p)
        if cards:
            chart(plans_chart(cards), width="stretch")
            st.table(card_rows(cards))


_read_link(_state())
explainer()
if _state()["preset"] == CHALLENGE:
    compare_plans()
st.markdown(ABOUT)
