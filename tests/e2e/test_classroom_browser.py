"""The classroom pages in a real browser (issue 5): the story can be followed start to end with the
keyboard alone; answers stay hidden until a prediction is made; presenter mode enlarges text and
hides the sidebar; axe-core finds no serious or critical violations.

Reuses the session fixtures of conftest.py (app_url, browser, artifacts); extra fixtures are here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import classroom

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHAPTERS = classroom.load_chapters()


def wait_idle(page, timeout=60_000):
    page.wait_for_selector(IDLE, timeout=timeout)


def open_app_page(browser, app_url, path: str, width=1400, height=1600):
    """A new browser page on `path`. The root is opened first: a server whose first request is a
    deep link resolves it with Streamlit's legacy pages/ discovery instead of st.navigation."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and "/_stcore/" not in m.text and "404" not in m.text
            and errors.append(m.text))
    page.goto(app_url)
    wait_idle(page)
    page.goto(app_url + path)
    wait_idle(page)
    page.errors = errors
    return page


def wait_story(page, previous: str | None = None) -> str:
    """Wait until the story shows a new step and the player has been driven to it; return its key."""
    page.wait_for_function(
        "(prev) => document.body.dataset.storyStep && document.body.dataset.storyStep !== prev", arg=previous,
        timeout=60_000)
    wait_idle(page)
    page.wait_for_selector(".lo-player[data-drawn='1']", timeout=60_000)
    return page.evaluate("document.body.dataset.storyStep")


@pytest.fixture
def story(browser, app_url):
    page = open_app_page(browser, app_url, "story?chapter=1")
    wait_story(page)
    yield page
    page.close()


def step_label(page) -> str:
    return page.locator("text=/Step \\d+ of \\d+/").first.inner_text()


def press_until(page, key: str, predicate: str, limit: int = 60) -> None:
    for _ in range(limit):
        if page.evaluate(predicate):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{predicate} never became true pressing {key}")


def answer_with_keyboard(page) -> None:
    """Tab to the prediction, choose with the arrow keys, Tab to 'Reveal the answer', press Enter."""
    press_until(page, "Tab", "document.activeElement && document.activeElement.type === 'radio'")
    page.keyboard.press("ArrowDown")  # moves to (and selects) the next option
    wait_idle(page)
    press_until(page, "Tab", "document.activeElement && document.activeElement.innerText === 'Reveal the answer'")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Your prediction:", timeout=60_000)


def test_the_story_can_be_followed_start_to_end_with_the_keyboard_alone(story, artifacts):
    page = story
    key = page.evaluate("document.body.dataset.storyStep")
    assert page.locator("h1").first.inner_text().startswith("1.")
    total = sum(len(c.steps) for c in CHAPTERS)
    keys = ["ArrowRight", "PageDown", " ", "."]
    seen_chapters = {1}
    answered = 0
    for n in range(total - 1):
        chapter = int(page.locator("h1").first.inner_text().split(".")[0])
        step_text = step_label(page)
        first_step = step_text.startswith("Step 1 of")
        if first_step and CHAPTERS[chapter - 1].question and page.locator("text=Reveal the answer").count():
            answer_with_keyboard(page)
            answered += 1
            key = wait_story(page, key)  # the player gets the rest of the chapter
            page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press(keys[n % len(keys)])
        key = wait_story(page, key)
        seen_chapters.add(int(page.locator("h1").first.inner_text().split(".")[0]))
        # The player was driven to the step's moment and paused there.
        seek_t = float(page.evaluate("window.player.time()"))
        assert not page.evaluate("window.player.playing()")
        assert seek_t >= 0
    assert seen_chapters == set(range(1, len(CHAPTERS) + 1))
    assert answered >= 4
    assert step_label(page).startswith(f"Step {len(CHAPTERS[-1].steps)} of")
    # And back again with ← and PageUp.
    page.keyboard.press("ArrowLeft")
    key = wait_story(page, key)
    page.keyboard.press("PageUp")
    wait_story(page, key)
    assert step_label(page).startswith(f"Step {len(CHAPTERS[-1].steps) - 2} of")
    page.screenshot(path=str(artifacts / "classroom-01-story-end-wide.png"), full_page=True)
    assert not page.errors, page.errors


def test_answers_stay_hidden_until_a_prediction_is_made(browser, app_url, artifacts):
    index = next(i for i, c in enumerate(CHAPTERS) if c.question == "first_feature")
    page = open_app_page(browser, app_url, f"story?chapter={index + 1}")
    wait_story(page)
    chapter = CHAPTERS[index]
    html = page.content()
    for hidden in ("Your prediction:", "matches the model", "Not quite", "The order in the model",
                   chapter.after.split("\n")[0]):
        assert hidden not in html, hidden
    # The player cannot be scrubbed past the question's moment: the future is not in the page.
    end_before = page.evaluate("player.seek(1e9); player.time()")
    states_before = page.evaluate("player.states()")
    assert all(s == "up" for n, s in states_before.items() if n in ("login", "upload_video", "view_counts"))
    page.screenshot(path=str(artifacts / "classroom-02-before-prediction.png"), full_page=True)
    reveal = page.get_by_role("button", name="Reveal the answer")
    assert reveal.is_disabled()
    key = page.evaluate("document.body.dataset.storyStep")
    page.get_by_text("Log in", exact=True).click()     # wrong: logins fail; watching keeps working
    wait_idle(page)
    page.get_by_role("button", name="Reveal the answer").click()
    page.wait_for_selector("text=Your prediction:", timeout=60_000)
    wait_story(page, key)
    html = page.content()
    assert "Not quite" in html and "Watch videos" in html and chapter.after.split("\n")[0] in html
    end_after = page.evaluate("player.seek(1e9); player.time()")
    assert end_after > end_before
    assert any(s != "up" for s in page.evaluate("player.states()").values())
    page.screenshot(path=str(artifacts / "classroom-03-after-prediction.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()


def _font_px(page) -> float:
    return page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('[data-testid=\"stMarkdownContainer\"] p')).fontSize)")


def _sidebar_visible(page) -> bool:
    return page.evaluate("""() => { const s = document.querySelector('[data-testid="stSidebar"]');
        if (!s) return false; const r = s.getBoundingClientRect(); const cs = getComputedStyle(s);
        return cs.display !== 'none' && cs.visibility !== 'hidden' && r.width > 10; }""")


def test_presenter_mode_enlarges_text_and_hides_the_sidebar(browser, app_url, artifacts):
    page = open_app_page(browser, app_url, "story?chapter=6", width=1920, height=1080)
    wait_story(page)
    normal, graph = _font_px(page), page.locator(".lo-graph").bounding_box()
    assert _sidebar_visible(page)
    # The toggle, by keyboard.
    press_until(page, "Tab", "document.activeElement && document.activeElement.closest('[data-testid=\"stCheckbox\"], label') "
                "&& document.activeElement.type === 'checkbox'")
    page.keyboard.press("Space")
    page.wait_for_function(f"parseFloat(getComputedStyle(document.querySelector('[data-testid=\"stMarkdownContainer\"] p')).fontSize) >= {1.5 * normal}",
                           timeout=30_000)
    wait_idle(page)
    assert "presenter=1" in page.url
    assert not _sidebar_visible(page)
    page.screenshot(path=str(artifacts / "classroom-04-presenter-1920.png"))
    # The URL parameter alone.
    page2 = open_app_page(browser, app_url, "story?chapter=6&presenter=1", width=1920, height=1080)
    wait_story(page2)
    big = _font_px(page2)
    assert big >= 1.5 * normal, (normal, big)
    assert not _sidebar_visible(page2)
    assert page2.locator(".lo-graph").bounding_box()["height"] > graph["height"]
    for p in (page, page2):
        assert not p.errors, p.errors
        p.close()


def nav_paths(browser, app_url) -> list[str]:
    page = open_app_page(browser, app_url, "")
    hrefs = page.evaluate("[...document.querySelectorAll('[data-testid=\"stSidebarNav\"] a')].map(a => a.href)")
    page.close()
    return [h[len(app_url):] for h in hrefs]


def axe_audit(page) -> list[dict]:
    """axe-core injected into the page and every frame; serious and critical violations."""
    page.add_script_tag(path=str(AXE))
    for frame in page.frames[1:]:
        try:
            frame.add_script_tag(path=str(AXE))
        except Exception:  # noqa: BLE001 — a frame that went away
            pass
    result = page.evaluate("""async () => { const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
          .map(v => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160))})); }""")
    return result


AUDITS = [("", "explainer"), ("?presenter=1", "explainer"), ("lab", "lab"), ("lab?presenter=1", "lab"), ("compare", "compare"), ("experiment", "experiment"),
          ("story?chapter=1", "story"), ("story?chapter=3", "story"), ("story?chapter=6&presenter=1", "story"),
          ("teacher", "teacher"), ("about", "about"), ("about?presenter=1", "about")]


@pytest.mark.parametrize("path,name", AUDITS, ids=[p or "explainer" for p, _ in AUDITS])
def test_axe_finds_no_serious_or_critical_violations(browser, app_url, artifacts, path, name):
    page = open_app_page(browser, app_url, path, width=1400, height=3000)
    if path and path.split("?")[0] not in [p.split("?")[0] for p in nav_paths(browser, app_url)]:
        page.close()
        pytest.skip(f"page {name!r} is not registered in app.py")
    page.wait_for_timeout(3000)  # charts and the graph settle
    found = axe_audit(page)
    out = artifacts / f"axe-{(path or 'explainer').replace('?', '_').replace('=', '-').replace('&', '_')}.json"
    out.write_text(json.dumps(found, indent=1), encoding="utf-8")
    page.close()
    assert not found, json.dumps(found, indent=1)


def test_narrow_window(browser, app_url, artifacts):
    page = open_app_page(browser, app_url, "story?chapter=4", width=700, height=2400)
    wait_story(page)
    page.screenshot(path=str(artifacts / "classroom-05-story-narrow.png"), full_page=True)
    box = page.locator(".lo-graph").bounding_box()
    assert box and box["width"] <= 700
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 720, width
    page.close()


def _radio_state(page) -> dict:
    return page.evaluate("""() => {
        const a = document.activeElement;
        const radios = [...document.querySelectorAll('input[type=radio]')];
        return {focused: !!a && a.type === 'radio', checked: radios.findIndex(r => r.checked),
                focusedIndex: radios.indexOf(a)};
    }""")


@pytest.mark.parametrize("qid,presenter", [("users_notice", "&presenter=1"), ("first_feature", "")],
                         ids=["presenter", "normal"])
def test_keys_stay_in_a_prediction_after_choosing_with_space(browser, app_url, presenter, qid):
    """Issue 14: after choosing an option with Space, ↓ changes the choice again and → does not move
    the story on (Streamlit's rerun must not take the focus away from the radio group)."""
    index = next(i for i, c in enumerate(CHAPTERS) if c.question == qid)
    page = open_app_page(browser, app_url, f"story?chapter={index + 1}{presenter}", width=1920, height=1080)
    key = wait_story(page)
    heading = page.locator("h1").first.inner_text()
    step = step_label(page)
    press_until(page, "Tab", "document.activeElement && document.activeElement.type === 'radio'")
    page.keyboard.press("Space")                   # choose the focused option
    page.wait_for_function("[...document.querySelectorAll('input[type=radio]')].some(r => r.checked)")
    wait_idle(page)
    page.wait_for_timeout(500)                     # let the rerun settle
    first = _radio_state(page)
    assert first["focused"] and first["checked"] == first["focusedIndex"], first
    page.keyboard.press("ArrowDown")               # the next option
    page.wait_for_function("(i) => [...document.querySelectorAll('input[type=radio]')].findIndex(r => r.checked) === i",
                           arg=first["checked"] + 1, timeout=10_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    second = _radio_state(page)
    assert second["focused"] and second["checked"] == first["checked"] + 1, second
    page.keyboard.press("ArrowRight")              # inside the radio group: a choice, not the next step
    page.wait_for_timeout(800)
    wait_idle(page)
    assert page.locator("h1").first.inner_text() == heading
    assert step_label(page) == step
    assert page.evaluate("document.body.dataset.storyStep") == key
    assert _radio_state(page)["focused"]
    assert not page.errors, page.errors
    page.close()
