"""The explainer in a real browser: offline, the graph draws, the switch cuts and restores power
at the moment shown, the player steps back, the chart cursor follows, keys work."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.browser_helpers import open_player

GRAPH = '[aria-label="Service dependency graph"]'
SWITCH = ("switch", "Data center power")


def states_over(page, t_from: float, t_to: float, every: float = 30.0) -> list[dict]:
    """player.states() at simulated times from t_from to t_to (the page is left where it was)."""
    return page.evaluate(
        """([a, b, dt]) => { const keep = player.time(), out = [];
             for (let t = a; t <= b; t += dt) { player.seek(t); out.push(player.states()); }
             player.seek(keep); return out; }""", [t_from, t_to, every])


def flip(page) -> float:
    """Click the power switch; wait until Python answered and the new run is applied. Returns the
    player's time at the click."""
    version = page.evaluate("player.version()")
    t = page.evaluate("player.time()")
    page.get_by_role(*SWITCH[:1], name=SWITCH[1]).click()
    page.wait_for_function(f"player.version() > {version}", timeout=30_000)
    page.wait_for_function("!document.querySelector('.lo-switch').disabled", timeout=30_000)
    return t


def test_loads_offline_with_no_console_errors(player_page, app_url, artifacts):
    page, watch = player_page
    page.wait_for_timeout(1500)
    assert page.locator(f"{GRAPH} canvas").count() >= 1
    assert page.locator(GRAPH).get_attribute("role") == "img"
    own = urlsplit(app_url).netloc
    foreign = [u for u in watch.urls if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != own]
    assert not foreign, foreign
    assert not watch.errors, watch.errors
    page.screenshot(path=str(artifacts / "01-open-wide.png"), full_page=True)


def test_with_power_left_on_nothing_fails(player_page):
    page, _ = player_page
    page.evaluate("player.setSpeed(8); player.play()")
    seen = []
    for _ in range(10):
        page.wait_for_timeout(300)
        seen.append(page.evaluate("[player.time(), player.states()]"))
    times = [t for t, _ in seen]
    assert times[-1] > times[0] + 300, times  # it played
    assert all(state == "up" for _, states in seen for state in states.values())
    assert page.locator(GRAPH).get_attribute("data-sim-time") is not None


def test_switch_cuts_at_the_moment_shown_and_the_cascade_unfolds(player_page, artifacts):
    page, watch = player_page
    page.evaluate("player.setSpeed(4); player.play(); window.__firstPlayer = window.player")
    page.wait_for_function("player.time() > 300")
    before = page.evaluate("player.states()")
    t_click = flip(page)
    t_after = page.evaluate("player.time()")
    assert t_after >= t_click, "the clock jumped back"
    assert page.evaluate("window.player === window.__firstPlayer"), "the player was remounted"
    assert page.get_by_role("switch", name="Data center power").get_attribute("aria-checked") == "false"
    # The past stays as it was; after the cut something leaves "up".
    assert states_over(page, 0, t_click - 10, 60)[-1] == before
    later = states_over(page, t_click, t_click + 3600, 30)
    assert any(s != "up" for states in later for s in states.values())
    # Playback continues into the cascade; the chart cursor follows the player.
    page.locator(".lo-chart").first.scroll_into_view_if_needed()   # the charts sit below the graph
    page.wait_for_timeout(2500)
    t_now, cursor = page.evaluate("[player.time(), player.cursor()]")
    assert t_now > t_after
    assert cursor and all(abs(c - t_now) <= 60 for c in cursor), (t_now, cursor)  # charts on screen
    # The text event log (a real table, outside the graph) lists the same changes, the current one marked.
    log = page.get_by_role("region", name="Event log").locator("tbody tr")
    assert log.count() >= 2 and "down" in log.all_inner_texts()[0] + log.all_inner_texts()[1]
    assert page.locator('.lo-log tr[aria-current="true"]').count() == 1
    page.screenshot(path=str(artifacts / "02-after-cut-wide.png"), full_page=True)
    assert not watch.errors, watch.errors


def test_step_back_restores_earlier_states(player_page):
    page, _ = player_page
    page.evaluate("player.play()")
    page.wait_for_function("player.time() > 120")
    t_cut = flip(page)
    page.evaluate("player.pause()")
    page.evaluate(f"player.seek({t_cut - t_cut % 10})")  # a whole step, as step() lands on
    start = page.evaluate("[player.time(), player.states()]")
    moved = page.evaluate(
        """() => { const s0 = JSON.stringify(player.states());
             for (let n = 1; n <= 400; n++) { player.step(1); if (JSON.stringify(player.states()) !== s0) return n; }
             return 0; }""")
    assert moved, "no state changed within 400 steps after the cut"
    changed = page.evaluate("player.states()")
    assert changed != start[1]
    page.evaluate(f"player.step(-{moved})")
    assert page.evaluate("player.states()") == start[1]
    assert abs(page.evaluate("player.time()") - start[0]) < 1e-6
    assert page.locator(GRAPH).get_attribute("data-sim-time") == str(int(start[0]))


def test_power_back_on_starts_recovery_at_that_moment(player_page, artifacts):
    page, _ = player_page
    page.evaluate("player.setSpeed(8); player.play()")
    page.wait_for_function("player.time() > 120")
    t_cut = flip(page)
    page.evaluate(f"player.seek({t_cut + 1200}); player.play()")
    down_before = page.evaluate("player.states()")
    cut_run = states_over(page, t_cut, t_cut + 3600, 60)
    t_restore = flip(page)
    assert page.get_by_role("switch", name="Data center power").get_attribute("aria-checked") == "true"
    # Up to the restore nothing changed; after it, services that were not up come back.
    assert states_over(page, t_cut, t_restore - 10, 60) == cut_run[: len(states_over(page, t_cut, t_restore - 10, 60))]
    after = states_over(page, t_restore, t_restore + 7200, 60)
    not_up = {n for n, s in down_before.items() if s != "up"}
    assert not_up, "the cut took nothing down"
    assert any(after[-1][n] != down_before[n] for n in not_up) or any(
        s == "recovering" for states in after for s in states.values())
    page.evaluate(f"player.pause(); player.seek({t_restore + 600})")
    page.screenshot(path=str(artifacts / "03-recovery-wide.png"), full_page=True)


def test_keys_work_from_the_page_but_not_inside_form_controls(player_page):
    page, _ = player_page
    page.evaluate("player.pause(); player.seek(600)")
    page.locator("h1").first.click()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("player.time()") == 610
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("player.time()") == 590
    page.keyboard.press("Space")
    assert page.evaluate("player.playing()")
    page.keyboard.press("Space")
    assert not page.evaluate("player.playing()")
    page.keyboard.press("Home")
    assert page.evaluate("player.time()") == 0
    # The scheduled times sit in a popover (rendered only when opened: it keeps their JS off the
    # path to the graph), so open it first.
    page.get_by_role("button", name="Scenario and scheduled times").click()
    page.get_by_role("spinbutton", name="Scheduled power cut (minute)").focus()
    page.keyboard.press("Space")
    assert not page.evaluate("player.playing()")


def test_narrow_window(browser, app_url, artifacts):
    page, watch = open_player(browser, app_url, width=800, height=1800)
    page.evaluate("player.pause(); player.seek(300)")
    flip(page)
    page.evaluate("player.seek(1500)")
    page.wait_for_timeout(800)
    box = page.locator(GRAPH).bounding_box()
    assert box and box["width"] <= 800 and box["height"] >= 300
    page.screenshot(path=str(artifacts / "04-after-cut-narrow.png"), full_page=True)
    assert not watch.errors, watch.errors
    page.close()


def test_hover_tells_state_why_and_dependents(player_page, artifacts):
    page, _ = player_page
    page.evaluate("player.play()")
    page.wait_for_function("player.time() > 60")
    flip(page)
    page.evaluate("player.pause(); player.seek(player.time() + 1800)")
    states = page.evaluate("player.states()")
    node = next(n for n, s in states.items() if s != "up" and n != "utility")
    pos = page.evaluate(f"player.nodePosition({node!r})")
    page.mouse.move(pos["x"], pos["y"])
    tip = page.locator(".vis-tooltip")
    tip.wait_for(state="visible", timeout=5000)
    text = tip.inner_text()
    assert f"State: {states[node]}" in text and "Why: " in text and "Depended on by: " in text, text
    page.screenshot(path=str(artifacts / "05-tooltip-wide.png"))


def test_a_flip_plays_its_first_minutes_at_once_then_the_whole_run(player_page):
    page, watch = player_page
    page.evaluate("player.setSpeed(2); player.play()")
    page.wait_for_function("player.time() > 200")
    scrub_max = page.locator(".lo-scrub").get_attribute("max")
    # Record, in the page, every run the player applies and the clock at that moment.
    page.evaluate("""() => { window.__applied = []; const root = document.querySelector('.lo-player');
        new MutationObserver(() => window.__applied.push([root.dataset.version, root.dataset.partial, player.time()]))
          .observe(root, { attributes: true, attributeFilter: ['data-version'] }); }""")
    version = page.evaluate("player.version()")
    t_click = flip(page)
    page.wait_for_function(f"player.version() >= {version + 2}", timeout=30_000)
    applied = page.evaluate("window.__applied")
    partial = [p for _, p, _ in applied]
    assert partial[:2] == ["1", "0"], applied                       # first minutes, then the whole run
    times = [t for _, _, t in applied]
    assert times == sorted(times) and times[0] >= t_click, (t_click, applied)  # the clock never jumps back
    assert page.locator(".lo-scrub").get_attribute("max") == scrub_max       # the scrubber kept the whole run
    later = states_over(page, t_click + 600, 3 * 3600, 600)                   # beyond the first minutes
    assert any(s != "up" for states in later for s in states.values())
    assert page.evaluate("player.playing()")
    assert not watch.errors, watch.errors


def test_scheduled_cut_in_the_popover_reruns_the_model(player_page):
    """The preset picker and scheduled times live in a popover (rendered only when opened); a cut
    scheduled there re-runs the model without remounting the player."""
    page, watch = player_page
    page.evaluate("player.pause(); player.seek(0); window.__samePlayer = window.player")
    assert all(s == "up" for st in states_over(page, 1200, 2400, 120) for s in st.values())
    version = page.evaluate("player.version()")
    page.get_by_role("button", name="Scenario and scheduled times").click()
    box = page.get_by_role("spinbutton", name="Scheduled power cut (minute)")
    box.fill("20")
    box.press("Enter")
    page.wait_for_function(f"player.version() > {version}", timeout=60_000)
    assert page.evaluate("window.player === window.__samePlayer")  # no remount
    assert all(s == "up" for s in states_over(page, 1100, 1190)[0].values())  # before the cut: as it was
    later = states_over(page, 1200, 2400, 60)
    assert any(s != "up" for st in later for s in st.values()), "the scheduled cut took nothing down"
    assert not watch.errors, watch.errors
