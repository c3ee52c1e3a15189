"""Issue 13 in a real browser: the operator's actions change the run from the player's moment only,
are marked, and are undone by stepping back before them and pressing Undo; "What users see" follows
the player and matches the model's metrics."""

from __future__ import annotations

import math

import pytest

import sim
import sim.challenge
import sim.interventions
from tests.e2e.test_explainer_browser import flip
from viz.users import lines_at

CUT_AT, RESTORE_AT = 120.0, 1500.0      # simulated seconds: power off, then on again
ACTIONS = {   # name → the value window.player.act gets
    "Shed load": True,
    "Block traffic / let it back in": 25,
    "Retry budget": True,
    "Circuit breakers": True,
    "Add capacity": {"node": "auth", "factor": 3},
    "Fail over": "auth",
    "Warm the caches": True,
}


def _whole(page) -> None:
    """Wait for the whole run (after a change the player first gets its next minutes)."""
    page.wait_for_selector(".lo-player[data-partial='0']", state="attached", timeout=60_000)


def _goto(page, t: float) -> None:
    page.evaluate(f"player.pause(); player.seek({t})")


def _cut_and_restore(page) -> None:
    """Power off at CUT_AT and on at RESTORE_AT, by the switch, as a student would."""
    _goto(page, CUT_AT)
    flip(page)
    _goto(page, RESTORE_AT)
    flip(page)
    _whole(page)


def _act(page, name: str, value) -> None:
    version = page.evaluate("player.version()")
    assert page.evaluate("([n, v]) => player.act(n, v)", [name, value])
    page.wait_for_function(f"player.version() > {version}", timeout=30_000)
    page.wait_for_function("!document.querySelector('.lo-switch').disabled", timeout=30_000)
    _whole(page)


def _signature(page, t_from: float, t_to: float) -> list:
    return page.evaluate(
        """([a, b]) => { const keep = player.time(), out = [];
             for (let t = a; t <= b; t += 60) { player.seek(t); out.push([player.states(), player.users()]); }
             player.seek(keep); return out; }""", [t_from, t_to])


@pytest.mark.parametrize("name", list(ACTIONS))
def test_an_action_changes_the_run_from_its_moment_and_undo_restores_it(player_page, artifacts, name):
    page, watch = player_page
    _cut_and_restore(page)
    t_act = RESTORE_AT + 300.0
    _goto(page, t_act)
    past = _signature(page, 0, t_act - 10)
    future = _signature(page, t_act, t_act + 5400)
    marks = page.locator(".lo-mark").count()
    # The control is found by its accessible name, exactly the action's label.
    role = {"Block traffic / let it back in": "slider"}.get(name)
    if role:
        assert page.get_by_role(role, name=name).count() == 1
    elif name in ("Shed load", "Retry budget", "Circuit breakers"):
        assert page.get_by_role("switch", name=name, exact=True).count() == 1
    else:
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    _act(page, name, ACTIONS[name])
    assert page.evaluate("player.time()") == t_act, "the clock jumped"
    assert _signature(page, 0, t_act - 10) == past, "the past changed"
    assert _signature(page, t_act, t_act + 5400) != future, "the action changed nothing"
    taken = page.evaluate("player.actions()")
    assert [a["name"] for a in taken] == [name] and taken[0]["t"] == t_act
    assert page.locator(".lo-mark").count() == marks + 1
    log = " ".join(page.get_by_role("region", name="Event log").locator("tbody tr").all_inner_texts())
    assert "Operators" in log
    if name in ("Shed load", "Retry budget", "Circuit breakers"):
        assert page.get_by_role("switch", name=name, exact=True).get_attribute("aria-checked") == "true"
    page.screenshot(path=str(artifacts / f"13-action-{name.split()[0].lower()}.png"), full_page=False)
    # Step back before it: Undo brings the earlier run back.
    page.evaluate("player.step(-3)")
    undo = page.get_by_role("button", name="Undo my actions after")
    assert undo.is_visible()
    version = page.evaluate("player.version()")
    undo.click()
    page.wait_for_function(f"player.version() > {version}", timeout=30_000)
    _whole(page)
    assert page.evaluate("player.actions()") == []
    assert _signature(page, t_act, t_act + 5400) == future
    assert not watch.errors, watch.errors


def test_what_users_see_matches_the_model_at_three_moments(player_page, artifacts):
    page, watch = player_page
    _cut_and_restore(page)
    panel = page.get_by_label("What users see")
    assert panel.count() == 1
    scenario = sim.FREE_PLAY.with_power_flip(CUT_AT / 60, False).with_power_flip(RESTORE_AT / 60, True)
    tl = sim.run(scenario)
    for t in (60.0, 1200.0, 4800.0):
        _goto(page, t)
        k = tl.index_at(t)
        want = lines_at(tl, k)
        shown = page.evaluate("player.users()")
        assert [x for x in shown[: len(want)]] == want, (t, shown, want)
        views = next(x for x in shown if x[0] == "Views on a creator's video")
        true = math.floor(tl.metrics["views_true"][k])
        assert f"really {true:,}" in views[2]
        disp = tl.metrics["views_displayed"][k]
        assert (f"shows {disp:,.0f}" if disp == disp else "shows hidden") in views[2]
        # text a screen reader reads, in the page
        assert want[0][0] in panel.inner_text()
    page.screenshot(path=str(artifacts / "13-what-users-see.png"), full_page=False)
    assert not watch.errors, watch.errors


def test_challenge_from_a_shared_link_shows_its_outcome_card(browser, app_url, artifacts):
    from urllib.parse import urlencode, urlsplit

    from tests.e2e.browser_helpers import open_player

    page, watch = open_player(browser, app_url + "?" + urlencode({"challenge": "1", "plan": "shed_load start_min=80"}))
    assert page.evaluate("player.time()") >= 4500, "the challenge starts when the power is back"
    assert page.evaluate("player.actions()")[0]["name"] == "Shed load"
    page.wait_for_function("document.querySelector('.lo-ops-status').textContent.includes('actions left')")
    assert "2 of 3 actions left" in page.locator(".lo-ops-status").inner_text()
    page.get_by_role("button", name="How did I do?").click()
    card = page.locator(".st-key-challenge_card")
    card.wait_for(timeout=180_000)
    card.get_by_text("Best plan found", exact=True).first.wait_for(timeout=60_000)   # the table, drawn after the text
    text = card.inner_text()
    assert "Your plan" in text and "Doing nothing" in text and "Best plan found" in text and "Events lost" in text
    yours = sim.challenge.card(sim.run(sim.challenge.SCENARIO.replace(
        actions=sim.challenge.SCENARIO.actions + (sim.interventions.parse("shed_load start_min=80"),))))
    assert f"{yours.total_min:.0f} minutes" in text
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "13-challenge-card.png"), full_page=False)
    assert not watch.errors, watch.errors
    host = urlsplit(app_url).netloc
    assert all(urlsplit(u).netloc in (host, "") or u.startswith(("data:", "blob:")) for u in watch.urls), \
        [u for u in watch.urls if urlsplit(u).netloc != host][:5]


def test_find_a_service_and_group_columns(player_page, artifacts):
    """Large graphs stay usable: a service is found by its label (centred, its state said), and each
    column collapses into one node labelled with its states (offered by a button above 120 nodes)."""
    page, watch = player_page
    _cut_and_restore(page)
    _goto(page, RESTORE_AT + 600)
    page.get_by_role("combobox", name="Find a service").fill("auth")
    page.get_by_role("button", name="Find", exact=True).click()
    result = page.get_by_role("search").locator(".lo-find-result").inner_text()
    state = page.evaluate("player.states()")["auth"]
    assert result == f"Auth service: {state} at {page.locator('.lo-clock-value').inner_text()}."
    assert page.evaluate("player.find('no such thing')") is None
    assert "No service called" in page.get_by_role("search").locator(".lo-find-result").inner_text()
    assert page.locator(".lo-group").is_hidden()          # 36 nodes: nothing to collapse
    page.evaluate("player.group(true)")
    assert page.evaluate("player.states()")["auth"] == state   # grouping changes the picture, not the run
    page.screenshot(path=str(artifacts / "15-grouped-columns.png"), full_page=False)
    page.evaluate("player.group(false)")
    assert not watch.errors, watch.errors
