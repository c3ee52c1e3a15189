"""The classroom pages in AppTest (issue 5): every page and every chapter renders, answers are not
in the page before a prediction, every source on the About page has a well-formed link, the
teacher notes are filled with the model's numbers."""

from __future__ import annotations

import functools
import json
import re
from urllib.parse import urlsplit

import pytest

import classroom
import sim
from classroom import facts as model_facts
from classroom.questions import QUESTIONS, feedback
from tests.app.apptest_helpers import ROOT

CHAPTERS = classroom.load_chapters()
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def registered_pages() -> list[str]:
    """Every page file app.py registers with st.navigation."""
    text = (ROOT / "app.py").read_text(encoding="utf-8")
    return [f"app_pages/{name}.py" for name in re.findall(r'"app_pages"\s*/\s*"(\w+)\.py"', text)]


def open_page(app, page: str):
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def page_text(at) -> str:
    """All text the page sends to the browser, including the player's data."""
    parts = []
    for kind in ("markdown", "title", "header", "subheader", "success", "warning", "info", "error", "caption", "text"):
        parts += [str(getattr(e, "value", "") or getattr(e, "body", "")) for e in at.get(kind)]
    for b in at.get("button"):
        parts.append(b.proto.label)
    for r in at.get("radio"):
        parts += [str(o) for o in r.proto.options]
    for comp in at.get("bidi_component"):
        proto = comp.proto
        parts.append(proto.json or proto.mixed.json)
    return "\n".join(parts)


def story_player_data(at) -> dict:
    for comp in at.get("bidi_component"):
        data = json.loads(comp.proto.json or comp.proto.mixed.json)
        if "node_frames" in data:
            return data
    raise AssertionError("no player on the page")


def go_to_chapter(at, index: int):
    at.selectbox(key="chapter_pick").set_value(index).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_registered_page_renders(app):
    pages = registered_pages()
    assert {"app_pages/story.py", "app_pages/teacher.py", "app_pages/about.py"} <= set(pages)
    for page in pages:
        open_page(app, page)


@pytest.mark.parametrize("index", range(len(CHAPTERS)), ids=[c.slug for c in CHAPTERS])
def test_every_chapter_renders_with_player_steps_and_lab_link(app, index):
    at = go_to_chapter(open_page(app, "app_pages/story.py"), index)
    chapter = CHAPTERS[index]
    assert at.title[0].value == f"{index + 1}. {chapter.title}"
    data = story_player_data(at)
    assert data["steps"] >= 1 and data["nodes"]
    text = page_text(at)
    assert "Things to try" in text and "Open this chapter's scenario in the Lab](lab?preset=" in text
    # The link restores exactly the chapter's scenario in the Lab (sim.links is what the Lab reads).
    from urllib.parse import parse_qsl
    from sim.links import from_params
    query = text.split("Open this chapter's scenario in the Lab](lab?", 1)[1].split(")", 1)[0]
    preset, scenario, notices = from_params(dict(parse_qsl(query, keep_blank_values=True)))
    assert (preset, scenario, notices) == (chapter.preset, chapter.scenario, [])
    assert f"Step 1 of {len(chapter.steps)}" in text
    assert "${" not in text            # the model's numbers are filled in (classroom.facts)
    assert re.search(r"simulated time \d+:\d\d h:min", text)   # one time format, with its unit
    # Every step moment lies inside what the player has been given.
    last_t = (data["steps"] - 1) * data["step_s"]
    full = sim.run(chapter.scenario)
    for expr in chapter.steps:
        assert 0 <= classroom.resolve_time(expr, full) <= full.t_s[-1]
    assert last_t >= 0


def test_next_walks_through_every_step_of_every_chapter(app):
    at = open_page(app, "app_pages/story.py")
    total = sum(len(c.steps) for c in CHAPTERS)
    for _ in range(total - 1):
        at.button(key="next_top").click().run()
        assert not at.exception
    assert at.title[0].value.startswith(f"{len(CHAPTERS)}.")
    assert at.button(key="next_top").disabled
    at.button(key="back_top").click().run()
    assert at.session_state.step == len(CHAPTERS[-1].steps) - 2 or at.session_state.chapter == len(CHAPTERS) - 2


def test_the_chapter_picker_still_names_the_chapter_after_another_page(app):
    """Streamlit drops the picker's state while another page is shown; the chapter itself is kept,
    so the picker must show it again rather than chapter 1 above chapter 3's text."""
    at = open_page(app, "app_pages/story.py")
    at.selectbox(key="chapter_pick").set_value(2).run()
    at.switch_page("app_pages/about.py").run()
    at.switch_page("app_pages/story.py").run()
    assert not at.exception
    assert at.session_state.chapter == 2 and at.selectbox(key="chapter_pick").value == 2
    assert at.title[0].value.startswith("3.")


def test_no_stray_none_after_next(app):
    """Issue 14: a "None" box appeared at the top of the Story after every Next (Streamlit's magic
    wrote the value of a conditional expression in the button's callback)."""
    at = open_page(app, "app_pages/story.py")
    for _ in range(3):
        at.button(key="next_top").click().run()
        shown = [str(getattr(e, "value", "")).strip("`") for kind in ("markdown", "text", "code", "json")
                 for e in at.get(kind)]
        assert "None" not in shown, shown


def test_at_least_four_questions():
    assert len({c.question for c in CHAPTERS if c.question}) >= 4


@functools.lru_cache(maxsize=None)
def _facts() -> dict[str, str]:
    return model_facts.all_facts(sim.run)


@pytest.mark.parametrize("index", [i for i, c in enumerate(CHAPTERS) if c.question],
                         ids=[c.slug for c in CHAPTERS if c.question])
def test_answers_are_not_in_the_page_before_a_prediction(app, index):
    at = go_to_chapter(open_page(app, "app_pages/story.py"), index)
    chapter = CHAPTERS[index]
    q = QUESTIONS[chapter.question]
    full = sim.run(chapter.scenario)
    out = q.compute(full, sim.run)
    fill = functools.partial(model_facts.fill, facts=_facts())  # the page fills in the model's numbers
    before = page_text(at)
    assert "Reveal the answer" in before and "Your prediction:" not in before
    for key, _ in q.options(out):
        text = fill(feedback(q, out, key)[1])
        for para in (p for p in text.split("\n\n") if len(p) > 30):
            assert para not in before, f"feedback visible before predicting: {para[:80]}"
    if chapter.after:
        assert fill(chapter.after).split("\n")[0] not in before
    # The player holds only the run up to the question's moment.
    data = story_player_data(at)
    ask_end = classroom.resolve_time(chapter.ask_until, full)
    assert (data["steps"] - 1) * data["step_s"] <= ask_end
    assert all(ev[0] <= ask_end for ev in data["events"])
    # Predict the first option, reveal: the feedback for *that* choice appears.
    choice = q.options(out)[0][0]
    at.radio(key=f"predict_{chapter.question}").set_value(choice).run()
    at.button(key=f"reveal_{chapter.question}").click().run()
    assert not at.exception
    right, text = feedback(q, out, choice)
    after = page_text(at)
    assert "Your prediction:" in after
    assert fill(text).split("\n\n")[0] in after
    if chapter.after:
        assert fill(chapter.after).split("\n")[0] in after


def test_reveal_is_disabled_until_a_choice_is_made(app):
    index = next(i for i, c in enumerate(CHAPTERS) if c.question)
    at = go_to_chapter(open_page(app, "app_pages/story.py"), index)
    assert at.button(key=f"reveal_{CHAPTERS[index].question}").disabled


def test_feedback_depends_on_the_answer_and_on_the_model():
    for qid, q in QUESTIONS.items():
        ch = next(c for c in CHAPTERS if c.question == qid)
        out = q.compute(sim.run(ch.scenario), sim.run)
        keys = [k for k, _ in q.options(out)]
        assert out.correct and out.correct <= set(keys), qid
        texts = {k: feedback(q, out, k) for k in keys}
        rights = {k for k, (ok, _) in texts.items() if ok}
        assert rights == out.correct, qid
        wrong = [k for k in keys if k not in out.correct]
        if wrong:
            assert texts[wrong[0]][1] != texts[sorted(out.correct)[0]][1]
        assert "${" not in "".join(model_facts.fill(t, _facts()) for _, t in texts.values()), qid
    # Computed, not typed in: with working generators nothing fails, so the answer changes.
    ok = sim.run(sim.PRESETS["as_reported"].scenario.replace(generator="ok", cooling_on_generator=True))
    assert QUESTIONS["login_after_power"].compute(ok, sim.run).correct == {"at_once"}


def test_presenter_mode_from_the_url(app):
    app.query_params["presenter"] = "1"
    at = open_page(app, "app_pages/story.py")
    assert at.toggle(key="presenter").value is True
    styles = "\n".join(h.proto.body for h in at.get("html"))
    assert "stSidebar" in styles and "font-size" in styles
    at.toggle(key="presenter").set_value(False).run()
    assert "stSidebar" not in "\n".join(h.proto.body for h in at.get("html"))


def test_every_source_on_the_about_page_has_a_well_formed_link(app):
    at = open_page(app, "app_pages/about.py")
    text = page_text(at)
    sources = text.split("## Sources", 1)[1]
    items = [line for line in sources.splitlines() if line.startswith("- ")]
    assert len(items) >= 20
    for item in items:
        links = LINK.findall(item)
        assert links, f"source without a link: {item[:80]}"
        for _, url in links:
            parts = urlsplit(url)
            assert parts.scheme in ("http", "https") and "." in parts.netloc, url
    for name in ("NFPA 110", "Uptime Institute", "SRE book, ch. 21", "SRE book, ch. 22", "Builders' Library",
                 "Netflix", "HotOS 2021", "OSDI 2022", "Vulture", "Engadget", "Reuters", "Azure", "Google Cloud",
                 "OVHcloud", "Facebook"):
        assert name in sources, name


def test_every_link_in_the_story_is_well_formed():
    for path in list((ROOT / "assets" / "story").rglob("*.md")) + [ROOT / "assets" / "about.md"]:
        for _, url in LINK.findall(path.read_text(encoding="utf-8")):
            if url.startswith(("http://", "https://")):
                parts = urlsplit(url)
                assert "." in parts.netloc and " " not in url, (path.name, url)


def test_teacher_notes_and_handout(app):
    at = open_page(app, "app_pages/teacher.py")
    text = page_text(at)
    for heading in ("Learning objectives", "15-minute", "45-minute", "Discussion questions", "misconceptions"):
        assert heading.lower() in text.lower(), heading
    assert "${" not in text
    labels = [b.proto.label.lower() for b in at.get("download_button")]
    assert labels and all("handout" in label for label in labels)
    assert any("html" in label for label in labels)   # the printable page


def test_no_st_caption_on_classroom_pages(app):
    for page in ("app_pages/story.py", "app_pages/teacher.py", "app_pages/about.py"):
        assert not open_page(app, page).get("caption"), page


def test_story_keys_script_parses():
    """JS syntax errors would only show at run time in the browser."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    js = ROOT / "assets" / "classroom" / "keys.js"
    done = subprocess.run([node, "--check", "--input-type=module"], input=js.read_text(encoding="utf-8"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_presenter_mode_on_the_simulating_pages(app):
    """Issue 14: ?presenter=1 is read by the Explainer too; the player gets the flag and charts with
    larger text; presenter mode survives moving to another page; the Compare page's charts grow."""
    app.query_params["presenter"] = "1"
    at = app.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="presenter").value is True
    data = story_player_data(at)
    assert data["presenter"] is True
    assert data["charts"] and all(c["spec"]["usermeta"]["enlarged"] for c in data["charts"])
    assert "stSidebar" in "\n".join(h.proto.body for h in at.get("html"))
    at.switch_page("app_pages/story.py")
    at.run()
    assert at.toggle(key="presenter").value is True
    assert story_player_data(at)["presenter"] is True
    at.switch_page("app_pages/compare.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="presenter").value is True
    specs = [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]
    assert specs and all(s["usermeta"]["enlarged"] for s in specs)
    at.toggle(key="presenter").set_value(False).run()
    specs = [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]
    assert specs and not any(s.get("usermeta", {}).get("enlarged") for s in specs)
