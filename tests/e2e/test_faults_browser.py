"""Faults in a real browser, on a server whose power flips stall past an 8-second budget
(LIGHTS_OUT_FAULT, read by ui/guard.py): the visitor who flipped sees a plain message and keeps the
player's clock, data and a switch that tells the truth; another visitor meanwhile gets new results."""

from __future__ import annotations

import os

import pytest

from tests.e2e.browser_helpers import ROOT, open_player, start_streamlit, stop

BUDGET_S = 8
SWITCH = '.lo-switch'


@pytest.fixture(scope="module")
def faulty_url(home):
    saved = {k: os.environ.get(k) for k in ("LIGHTS_OUT_FAULT", "LIGHTS_OUT_SIM_BUDGET_S")}
    # A's flip comes at ~0:15-0:16 ("power start_min=15.x"); B's scheduled cut at 0:20 must not stall.
    os.environ.update(LIGHTS_OUT_FAULT="hang:actions~power start_min=1", LIGHTS_OUT_SIM_BUDGET_S=str(BUDGET_S))
    try:
        proc, url = start_streamlit(ROOT / "app.py", home)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    yield url
    stop(proc)


def test_a_stalled_flip_keeps_the_player_and_does_not_hold_up_another_visitor(browser, faulty_url, artifacts):
    a, watch_a = open_player(browser, faulty_url)
    b, watch_b = open_player(browser, faulty_url)
    try:
        a.evaluate("player.setSpeed(8); player.play(); window.__firstPlayer = window.player")
        a.wait_for_function("player.time() > 900", timeout=30_000)
        a.evaluate("player.pause()")
        t, version = a.evaluate("[player.time(), player.version()]")
        a.get_by_role("switch", name="Data center power").click()
        a.wait_for_function(f"document.querySelector('{SWITCH}').disabled", timeout=5_000)

        # Visitor B changes the schedule while A's run is stuck: B's new run arrives first.
        b_version = b.evaluate("player.version()")
        b.get_by_role("button", name="Scenario and scheduled times").click()  # the schedule's popover
        cut = b.get_by_role("spinbutton", name="Scheduled power cut (minute)")
        cut.fill("20")
        cut.press("Enter")
        b.wait_for_function(f"player.version() > {b_version}", timeout=BUDGET_S * 1000)
        assert a.evaluate(f"document.querySelector('{SWITCH}').disabled"), "A's run ended before B's arrived"
        assert b.locator('[data-testid="stAlert"]').count() == 0

        # A: the budget runs out; the page says so and the player is exactly as it was.
        alert = a.get_by_text(f"it took longer than {BUDGET_S} s")
        alert.wait_for(timeout=(BUDGET_S + 30) * 1000)
        assert "still showing the previous run" in a.locator('[data-testid="stAlert"]').inner_text()
        a.wait_for_function(f"!document.querySelector('{SWITCH}').disabled", timeout=10_000)
        assert a.evaluate("window.player === window.__firstPlayer"), "the player was remounted"
        assert a.evaluate("[player.time(), player.version()]") == [t, version]
        sw = a.get_by_role("switch", name="Data center power")
        assert sw.get_attribute("aria-checked") == "true"  # power still on in the run shown
        assert set(a.evaluate("player.states()").values()) == {"up"}
        a.screenshot(path=str(artifacts / "faults-stalled-flip.png"), full_page=True)
        assert not watch_a.errors and not watch_b.errors, watch_a.errors + watch_b.errors
    finally:
        a.close()
        b.close()
