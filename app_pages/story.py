"""The guided story: the January 2026 outage in chapters, each driving the same simulation, graph
and charts to its moment, with predict-then-reveal questions and a presenter mode.

Thin on purpose: chapters and their prose come from assets/story/*.md (classroom.story), questions
and their computed answers from classroom.questions, the graph and charts from the explainer's
player (assets/player, viz.player). While a chapter's question is open the player only receives the
run up to the question's moment, so the answer is nowhere in the page until the reader predicts.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

import classroom
import sim
from classroom import facts as model_facts
from classroom.questions import QUESTIONS, feedback
from classroom.ui import presenter_mode
from ui import guard, runner
from viz.charts import chart_specs
from viz.player import build_payload
from viz.presenter import presenter_payload
from viz.whatif import escape_md

ROOT = Path(__file__).resolve().parent.parent
PLAYER_DIR = ROOT / "assets" / "player"
KEYS_DIR = ROOT / "assets" / "classroom"
CHAPTERS = classroom.load_chapters()


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


player = st.components.v2.component(
    "lights_out_story_player", html=_read(PLAYER_DIR / "player.html"), css=_read(PLAYER_DIR / "player.css"),
    js=_read(PLAYER_DIR / "player.js"), isolate_styles=False)
story_keys = st.components.v2.component(
    "lights_out_story_keys", html=_read(KEYS_DIR / "keys.html"), css=_read(KEYS_DIR / "keys.css"),
    js=_read(KEYS_DIR / "keys.js"))


def view(index: int, revealed: bool) -> dict:
    """Everything the page shows of chapter `index`: the player's data and the step moments (kept by
    the runner for every visitor)."""
    return runner.derived(("story", index, revealed), lambda: _view(index, revealed))


def _view(index: int, revealed: bool) -> dict:
    ch = CHAPTERS[index]
    full = runner.timeline(ch.scenario)
    shown, t_end = classroom.chapter_timeline(ch, full, revealed)
    caps = [(c.t_s, c.text) for c in sim.captions(full) if c.t_s <= t_end]
    steps = [min(classroom.resolve_time(s, full), t_end) for s in ch.steps]
    lines = [sim.caption_at([c for c in sim.captions(full) if c.t_s <= t_end], t) for t in steps]
    return {"payload": build_payload(shown, chart_specs(shown), caps), "steps": steps, "lines": lines, "end": t_end}


def outcome(question_id: str, scenario: sim.Scenario):
    return runner.derived(("question", question_id, scenario),
                          lambda: QUESTIONS[question_id].compute(runner.timeline(scenario), runner.timeline))


def prose_facts(*texts: str) -> dict[str, str]:
    """The model's numbers these texts name (classroom.facts), kept by the runner for every visitor;
    if they cannot be simulated in time, a dash stands in for each."""
    groups = model_facts.groups_for(texts)
    got, _ = guard.attempt(lambda: model_facts.compute(
        groups, runner.timeline, cache=lambda g, make: runner.derived(("facts", g), make)), budget=4 * guard.budget_s())
    if got is None:
        return {n: "—" for t in texts for n in model_facts.placeholders(t)}
    return got


def clock_s(t: float) -> str:
    """One format for simulated time, as in the captions and questions (H:MM), with its unit; the
    seconds of a step between two minutes are said in words."""
    s = int(round(t)) % 60
    return f"{sim.clock(t)} h:min" + (f" and {s} s" if s else "")


# ---- state and callbacks ----------------------------------------------------------------------
def _set(chapter: int, step: int) -> None:
    chapter = max(0, min(len(CHAPTERS) - 1, chapter))
    st.session_state.chapter = chapter
    st.session_state.step = max(0, min(len(CHAPTERS[chapter].steps) - 1, step))
    st.session_state.chapter_pick = chapter
    st.query_params["chapter"] = str(chapter + 1)


def go(delta: int) -> None:
    c, s = st.session_state.chapter, st.session_state.step
    # Statements, not a conditional expression: Streamlit's "magic" would write the expression's
    # value (None) into the page as a stray box after every Next.
    if delta > 0 and s + 1 < len(CHAPTERS[c].steps):
        _set(c, s + 1)
    elif delta > 0:
        _set(c + 1, 0)
    elif s > 0:
        _set(c, s - 1)
    elif c > 0:
        _set(c - 1, len(CHAPTERS[c - 1].steps) - 1)


def _on_keys() -> None:
    nav = (st.session_state.get("story_keys") or {}).get("nav")
    if not isinstance(nav, dict) or nav.get("id") == st.session_state.keys_ack:
        return
    st.session_state.keys_ack = nav.get("id")
    go(1 if nav.get("dir", 1) > 0 else -1)


def _on_pick() -> None:
    _set(st.session_state.chapter_pick, 0)


def _reveal(qid: str) -> None:
    choice = st.session_state.get(f"predict_{qid}")
    if choice is not None:
        st.session_state.predictions = {**st.session_state.predictions, qid: choice}


def _ask_again(qid: str) -> None:
    st.session_state.predictions = {k: v for k, v in st.session_state.predictions.items() if k != qid}
    st.session_state.pop(f"predict_{qid}", None)


def _on_switch() -> None:
    """The story's power schedule is fixed; acknowledge the click so the switch settles."""
    flip = (st.session_state.get("story_player") or {}).get("power_switch")
    if isinstance(flip, dict):
        st.session_state.switch_ack = str(flip.get("click_id", ""))
        st.session_state.switch_note = True


if "chapter" not in st.session_state:
    try:
        start = int(st.query_params.get("chapter", "1")) - 1
    except ValueError:
        start = 0
    st.session_state.update(predictions={}, keys_ack="", switch_ack="", switch_note=False)
    _set(start, 0)

# ---- page -----------------------------------------------------------------------------------------
idx, step = st.session_state.chapter, st.session_state.step
chapter = CHAPTERS[idx]
qid = chapter.question
FACTS = prose_facts(chapter.body, chapter.after, chapter.try_this,
                    *(QUESTIONS[qid].sections.values() if qid else ()))
prediction = st.session_state.predictions.get(qid) if qid else None
revealed = not qid or prediction is not None

if "chapter_pick" not in st.session_state:  # Streamlit dropped the picker's state while another page was shown
    st.session_state.chapter_pick = idx
top = st.columns([3, 2, 1.2, 1.2], vertical_alignment="bottom")
top[0].selectbox("Chapter", range(len(CHAPTERS)), key="chapter_pick", on_change=_on_pick,
                 format_func=lambda i: f"{i + 1}. {CHAPTERS[i].title}")
with top[1]:
    PRESENTING = presenter_mode()
top[2].button("◀ Back", on_click=go, args=(-1,), disabled=idx == 0 and step == 0, width="stretch", key="back_top")
top[3].button("Next ▶", on_click=go, args=(1,), disabled=idx == len(CHAPTERS) - 1 and step == len(chapter.steps) - 1,
              width="stretch", key="next_top", type="primary")

st.title(f"{idx + 1}. {chapter.title}")
# Presenter mode: the chapter's text and question beside the player, so that the switch, the clock,
# the caption, the whole graph and the question fit on one projected screen (the text scrolls).
stage = st.container(key="presenter_stage")
text_col, play_col = stage.columns([1, 2.2], gap="medium") if PRESENTING else (stage, stage)
with text_col.container(key="story_text"):
    # If this step cannot be simulated the player keeps the last step that could (and says so above it).
    v, fault = guard.attempt(lambda: view(idx, revealed))
    if v is not None:
        st.session_state.story_good = (idx, revealed, step)
        keys_key = f"{idx}-{step}-{int(revealed)}-{v['payload']['id']}"
        t_step = v["steps"][step]
        st.markdown(f"**Step {step + 1} of {len(chapter.steps)} · simulated time {clock_s(t_step)} since the start.** "
                    f"Latest event: {escape_md(v['lines'][step])}")   # labels come from the architecture
    else:
        good = st.session_state.get("story_good")
        v = guard.attempt(lambda: view(*good[:2]))[0] if good else None
        fault = guard.text("chapter" if v is not None else "first", reason=fault)
        if v is not None:
            t_step = v["steps"][min(good[2], len(v["steps"]) - 1)]
            keys_key = f"{good[0]}-{good[2]}-{int(good[1])}-{v['payload']['id']}"
        st.markdown(f"**Step {step + 1} of {len(chapter.steps)}.**")
    st.markdown(model_facts.fill(chapter.body, FACTS))

    if qid:
        q = QUESTIONS[qid]
        out, why = guard.attempt(lambda: outcome(qid, chapter.scenario), budget=4 * guard.budget_s())  # a few runs
        options = dict(q.options(out)) if out is not None else {}
        with st.container(border=True, key="story_question"):
            st.subheader("Predict, then reveal")
            if out is None:
                st.warning(guard.text("question", reason=why), icon="⚠️")
            elif prediction is None:
                st.markdown(model_facts.fill(q.prompt(out), FACTS))
                st.radio("Your prediction", list(options), index=None, key=f"predict_{qid}",
                         format_func=lambda k: options[k])
                st.button("Reveal the answer", key=f"reveal_{qid}", on_click=_reveal, args=(qid,),
                          disabled=st.session_state.get(f"predict_{qid}") is None,
                          help="Choose a prediction first; the answer is computed from the model.")
            else:
                st.markdown(model_facts.fill(q.prompt(out), FACTS))
                right, text = feedback(q, out, prediction)
                text = model_facts.fill(text, FACTS)
                st.markdown(f"**Your prediction:** {options.get(prediction, prediction)}")
                (st.success if right else st.warning)(text, icon="✔️" if right else "✖️")
                st.button("Ask me again", key=f"again_{qid}", on_click=_ask_again, args=(qid,))
        full = guard.attempt(lambda: view(idx, True))[0] if prediction is None and not fault else None
        if full is not None and full["end"] > v["end"]:
            st.markdown(f"*The graph and charts run only up to {clock_s(v['end'])}: predict first, "
                        "then the rest of this chapter is revealed.*")
    if revealed and chapter.after:
        st.markdown(model_facts.fill(chapter.after, FACTS))

with play_col:
    note_slot = st.empty()  # always present, so nothing above the player appears or disappears
    if fault:
        note_slot.error(fault, icon="⚠️")
    elif st.session_state.switch_note:
        note_slot.info("In the story the power schedule is fixed. To flip the switch yourself, open this chapter in the Lab.")
    if v is None:
        st.stop()
    data = dict(presenter_payload(v["payload"], PRESENTING), ack=st.session_state.switch_ack, epoch=0)
    player(key="story_player", data=data, on_power_switch_change=_on_switch)
    story_keys(key="story_keys", data={"seek_t": t_step, "key": keys_key, "presenter": PRESENTING}, on_nav_change=_on_keys)

st.subheader("Things to try")
st.markdown(model_facts.fill(chapter.try_this, FACTS))
lab_query = {**chapter.lab_query(), **({"presenter": "1"} if PRESENTING else {})}
st.markdown(f"[Open this chapter's scenario in the Lab](lab?{urlencode(lab_query)}) — "
            f"preset *{sim.PRESETS[chapter.preset].title}*"
            + (f", with {', '.join(f'{k} = {val}' for k, val in chapter.settings)}" if chapter.settings else "") + ".")

bottom = st.columns([1, 1, 4])
bottom[0].button("◀ Back", on_click=go, args=(-1,), disabled=idx == 0 and step == 0, width="stretch", key="back_bottom")
bottom[1].button("Next ▶", on_click=go, args=(1,), width="stretch", key="next_bottom",
                 disabled=idx == len(CHAPTERS) - 1 and step == len(chapter.steps) - 1)
