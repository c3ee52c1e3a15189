"""Teacher notes: objectives, a 15- and a 45-minute lesson plan, discussion questions with model
answers, common misconceptions and a one-page handout. The prose is in assets/teacher/*.md; every
number in it is filled in from the model (classroom.teaching), so it always matches the story."""

from __future__ import annotations

import streamlit as st

from classroom import handout as sheet
from classroom.teaching import all_facts, render
from classroom.ui import presenter_mode
from ui import guard, runner


def facts() -> dict[str, str]:
    """The story's numbers (seven model runs, kept by the runner for every visitor)."""
    return runner.derived(("teacher_facts",), lambda: all_facts(
        runner.timeline, cache=lambda g, make: runner.derived(("facts", g), make)))


presenter_mode()
st.title("Teacher notes")
raw, fault = guard.attempt(facts, budget=4 * guard.budget_s())  # seven runs of the default story
if raw is None:
    st.error(guard.text("notes", reason=fault), icon="⚠️")
    st.stop()
f = {k: v.replace("$", "\\$") for k, v in raw.items()}
for name in ("objectives", "lesson_15", "lesson_45", "discussion", "misconceptions"):
    st.markdown(render(name, f))

st.header("Handout")
questions, why = guard.attempt(lambda: runner.derived(("handout_questions",), lambda: sheet.story_questions(runner.timeline)),
                               budget=4 * guard.budget_s())
if questions is None:
    st.error(guard.text("notes", reason=why), icon="⚠️")
    st.stop()
st.markdown(render("handout_intro", {}))
st.download_button("Download the handout (printable page, HTML)", sheet.page(raw, questions), "lights-out-handout.html",
                   "text/html", on_click="ignore", type="primary")
st.download_button("Download the handout (Markdown)", sheet.markdown(raw, questions), "lights-out-handout.md",
                   "text/markdown", on_click="ignore")
with st.expander("Preview the handout"):
    st.markdown(sheet.markdown(raw, questions).replace("$", "\\$"))
