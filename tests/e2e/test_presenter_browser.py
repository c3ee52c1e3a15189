"""Issue 14 in a real browser: a projector at 1920×1080 driven by a presentation clicker, and a phone.

Presenter mode: the teacher turns it on (the toggle keeps the focus) and from then on presses only a
clicker's keys (Page Down / Page Up, → / ←). After every press the switch, the clock, the caption,
the whole graph — and on the Story the current question — are on the screen, measured by their
bounding boxes; graph labels and chart text are at least 1.5× their normal size.

Phone (390×844): the power switch and "What users see" are on the first screen, the graph is drawn in
rows (what users do at the top) at a readable scale, and nothing makes the page scroll sideways.
"""

from __future__ import annotations

import json

import pytest

import classroom
from tests.e2e.test_classroom_browser import (axe_audit, open_app_page, press_until, step_label, wait_idle,
                                              wait_story)

CHAPTERS = classroom.load_chapters()
W, H = 1920, 1080
PLAYER_PARTS = {"switch": ".lo-switch", "clock": ".lo-clock", "caption": ".lo-caption", "graph": ".lo-graph"}

BOXES = """(sels) => { const out = {}; for (const [k, s] of Object.entries(sels)) {
    const e = document.querySelector(s); if (!e) { out[k] = null; continue; }
    const r = e.getBoundingClientRect(); out[k] = [r.top, r.bottom, r.left, r.right]; } return out; }"""


def boxes(page, parts: dict[str, str]) -> dict:
    return page.evaluate(BOXES, parts)


def assert_on_screen(page, parts: dict[str, str], when: str, height: int = H) -> None:
    got = boxes(page, parts)
    for name, box in got.items():
        assert box is not None, f"{when}: no {name}"
        top, bottom, left, right = box
        assert top >= -1 and bottom <= height + 1 and left >= -1 and right <= page.viewport_size["width"] + 1, \
            f"{when}: {name} is not on the screen: {box}"


def chart_text_px(page) -> float:
    """The median font size of the player's chart texts (axis labels, titles), in px as drawn (the
    font size times the SVG's on-screen scale)."""
    page.wait_for_function("document.querySelectorAll('.lo-chart svg text').length > 20", timeout=60_000)
    return page.evaluate("""() => { const s = [...document.querySelectorAll('.lo-chart svg text')].map(t => {
          const svg = t.ownerSVGElement, w = svg.width.baseVal.value;
          const k = w ? svg.getBoundingClientRect().width / w : 1;
          return parseFloat(getComputedStyle(t).fontSize) * k; }).filter(h => h > 0).sort((a, b) => a - b);
        return s[Math.floor(s.length / 2)]; }""")


def charts_fit(page) -> bool:
    """No chart is wider than its box (a chart embedded before the others arrived once was)."""
    return page.evaluate("[...document.querySelectorAll('.lo-chart')].every(f => f.scrollWidth <= f.clientWidth + 1)")


def turn_presenter_on(page) -> None:
    """By keyboard, as a teacher at the laptop would: Tab to the toggle, Space. The focus stays on it."""
    press_until(page, "Tab", "document.activeElement && document.activeElement.getAttribute('aria-label') === 'Presenter mode'")
    page.keyboard.press("Space")
    page.wait_for_function("location.search.includes('presenter=1')", timeout=30_000)
    wait_idle(page)
    page.wait_for_selector(".lo-player[data-presenter='1'][data-drawn='1']", timeout=60_000)
    page.wait_for_timeout(800)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Presenter mode"


def offsite_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: r.url.startswith(("http://", "https://")) and not r.url.startswith(
        ("http://127.0.0.1", "http://localhost")) and seen.append(r.url))
    return seen


def test_explainer_presenter_mode_with_a_clicker(browser, app_url, artifacts):
    # The challenge link: a run with something to say every few minutes.
    page = open_app_page(browser, app_url, "?challenge=1", width=W, height=H)
    offsite = offsite_requests(page)
    page.wait_for_selector(".lo-player[data-drawn='1']", timeout=60_000)
    page.wait_for_timeout(1500)
    normal_label = page.evaluate("window.player.labelPx()")
    normal_chart = chart_text_px(page)
    assert charts_fit(page)
    turn_presenter_on(page)
    big_chart = chart_text_px(page)
    page.wait_for_timeout(1000)
    assert charts_fit(page)
    assert big_chart >= 1.5 * normal_chart - 0.01, (normal_chart, big_chart)
    assert page.evaluate("window.player.labelPx()") >= 1.5 * normal_label - 0.01
    page.evaluate("window.player.pause()")
    times = []
    for n, key in enumerate(["PageDown", "PageDown", "PageDown", "ArrowRight", "PageUp", "ArrowLeft", "PageDown"]):
        page.keyboard.press(key)
        page.wait_for_timeout(400)
        assert_on_screen(page, PLAYER_PARTS, f"after {key} (press {n + 1})")
        times.append(page.evaluate("window.player.time()"))
    # The first press brings the player into view; the next ones move to the next thing the model says.
    assert times[1] > times[0] and times[2] > times[1] and times[3] > times[2], times
    assert times[4] < times[3] and times[5] < times[4], times
    captions = [c[0] for c in page.evaluate("window.player.captions()")]
    assert all(min(abs(t - c) for c in captions) < 1e-6 for t in times[1:6]), (times, captions)
    assert page.get_by_text("Presenter keys (a clicker works)").is_visible()
    page.screenshot(path=str(artifacts / "presenter-01-explainer-1920.png"))
    assert not page.errors, page.errors
    assert not offsite, offsite
    page.close()


@pytest.mark.parametrize("qid", ["first_feature"])
def test_story_presenter_mode_with_a_clicker(browser, app_url, artifacts, qid):
    index = next(i for i, c in enumerate(CHAPTERS) if c.question == qid)
    page = open_app_page(browser, app_url, f"story?chapter={index + 1}", width=W, height=H)
    key = wait_story(page)
    normal_label = page.evaluate("window.player.labelPx()")
    turn_presenter_on(page)
    # The toggle moved the player and the story's keys into a column: they mount again.
    page.wait_for_function("document.body.dataset.storyKeys === 'on'", timeout=30_000)
    parts = dict(PLAYER_PARTS, question=".st-key-story_question")
    steps = len(CHAPTERS[index].steps)
    for n in range(steps + 1):                     # through the chapter and into the next one
        press = "PageDown" if n % 2 == 0 else "ArrowRight"
        before = step_label(page)
        page.keyboard.press(press)
        try:
            key = wait_story(page, key)
        except Exception:                          # say what the page showed when a press went unanswered
            page.screenshot(path=str(artifacts / f"presenter-story-stuck-{n}.png"))
            raise AssertionError(f"press {n + 1} ({press}) at {before!r}: no new step; focus on "
                                 + str(page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 120)")))
        page.wait_for_timeout(600)
        if page.locator(".st-key-story_question").count():
            assert_on_screen(page, parts, f"step {step_label(page)}")
        else:
            assert_on_screen(page, PLAYER_PARTS, f"step {step_label(page)}")
        if n == 0:
            page.screenshot(path=str(artifacts / "presenter-02-story-1920.png"))
    # Beside the text the graph is narrower than on the Explainer, but its labels still grow.
    assert page.evaluate("window.player.labelPx()") >= 1.2 * normal_label
    # No stray elements: nothing Streamlit's "magic" would print, no empty error boxes.
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "\nNone\n" not in f"\n{main}\n"
    assert not page.errors, page.errors
    page.close()


def test_phone_explainer_first_screen(browser, app_url, artifacts):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url)
    wait_idle(page)
    page.wait_for_selector(".lo-player[data-drawn='1']", timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "phone-01-first-screen.png"))
    assert_on_screen(page, {"switch": ".lo-switch", "users": 'section[aria-label="What users see"]'},
                     "the first screen", height=844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The graph: rows, users' features first, whole and readable (no panning needed).
    assert page.evaluate("document.querySelector('.lo-player').dataset.layout") == "vertical"
    assert page.evaluate("window.player.labelPx()") >= 13
    order = page.evaluate("""() => { const ps = {}; for (const n of ['login', 'api_gateway', 'utility'])
        ps[n] = window.player.nodePosition(n).y; return ps; }""")
    assert order["login"] < order["api_gateway"] < order["utility"], order
    graph = page.locator(".lo-graph").bounding_box()
    for n in ("login", "utility", "generator", "watch_videos"):
        p = page.evaluate("(n) => window.player.nodePosition(n)", n)
        assert graph["x"] <= p["x"] <= graph["x"] + graph["width"] and graph["y"] <= p["y"] <= graph["y"] + graph["height"], n
    found = axe_audit(page)
    (artifacts / "axe-phone-explainer.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
    assert not found, json.dumps(found, indent=1)
    assert not errors, errors
    ctx.close()


def test_story_keys_survive_a_remount_whose_old_cleanup_runs_last(browser):
    """When the presenter toggle moves the story's keys into a column, Streamlit may mount the new
    instance before it cleans up the old one. keys.js, loaded as the module Streamlit loads: mount
    A, mount B, clean up A — B's keys still work; clean up B — no key is taken any more."""
    from pathlib import Path  # noqa: PLC0415

    js = (Path(__file__).resolve().parents[2] / "assets" / "classroom" / "keys.js").read_text()
    page = browser.new_page()
    page.set_content("<body><div id=a></div><div id=b></div></body>")
    got = page.evaluate("""async (src) => {
        const url = URL.createObjectURL(new Blob([src], {type: "text/javascript"}));
        const mount = (await import(url)).default, sent = [];
        const press = () => window.dispatchEvent(new KeyboardEvent("keydown", {key: "PageDown"}));
        const a = mount({data: null, setTriggerValue: (...x) => sent.push(["a", ...x]),
                         parentElement: document.getElementById("a")});
        const b = mount({data: null, setTriggerValue: (...x) => sent.push(["b", ...x]),
                         parentElement: document.getElementById("b")});
        a();                                    // the old instance's cleanup, after the new mount
        press();
        const marked = document.body.dataset.storyKeys;
        b();
        press();
        return {sent: sent.map(s => s[0] + ":" + s[1] + ":" + s[2].dir), marked,
                after: document.body.dataset.storyKeys || null};
    }""", js)
    page.close()
    assert got == {"sent": ["b:nav:1"], "marked": "on", "after": None}, got
