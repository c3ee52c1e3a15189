"""Explainer page speed in a real browser, as ratios to bare Streamlit pages measured in the same run.

Prints medians (ms) and ratios; it is a script, not a timed test (timings depend on the machine).
  1. open: page load → graph drawn, vs a one-line Streamlit page → its text shown   (target ≤ 1.5×)
  2. flip: switch click → re-simulated run applied in the player, vs st.button click → rerun shown
     (target ≤ 2×); flips at new times (a new simulation each) and repeated flips (cache hits)
  3. reruns: messages the browser sends to the server during a whole playback     (target 0)
  5. action (issue 13): an operator action (Shed load, window.player.act) at a new moment → its first
     minutes drawn, vs the same st.button round trip (target ≤ 2×, as the switch)
  4. the server's share of a flip, in this process after the browser runs: sim.run, chart specs,
     narration, payload and Streamlit's JSON encoding, for the same flips (medians)

Run: python benchmarks/bench_page.py [--repeat 7] [--actions-only]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.browser_helpers import (CHROMIUM, CHROMIUM_ARGS, chromium_missing, isolated_env,  # noqa: E402
                                       start_streamlit, stop)

BARE_LINE = 'import streamlit as st\nst.write("hello")\n'
BARE_BUTTON = ('import streamlit as st\n'
               'st.session_state.n = st.session_state.get("n", 0) + bool(st.button("Go"))\n'
               'st.write(f"count {st.session_state.n}")\n')
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
DRAWN = ".lo-player[data-drawn='1']"


def ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def open_once(browser, url: str, ready: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(ready, timeout=60_000)
    elapsed = time.perf_counter() - t0
    page.close()
    return elapsed


class ButtonPage:
    """The bare page with one st.button; click() → seconds until the rerun's text shows."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page()
        self.page.goto(url)
        self.page.wait_for_selector("text=count 0")
        self.n = 0

    def click(self) -> float:
        self.page.wait_for_selector(IDLE)
        self.n += 1
        t0 = time.perf_counter()
        self.page.get_by_role("button", name="Go").click()
        self.page.wait_for_selector(f"text=count {self.n}", timeout=60_000)
        return time.perf_counter() - t0


WHOLE = "(v) => player.version() > v && document.querySelector('.lo-player').dataset.partial !== '1'"


class PlayerPage:
    """The explainer; flip(t) → seconds from the click to the re-simulated run drawn, and the
    same measured inside the page (performance.now), and bytes received over the websocket."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.received: list[int] = []
        self.apply: list[float] = []  # the player's own share: new data received → drawn
        self.page.on("websocket", lambda ws: ws.on("framereceived", lambda f: self.received.append(len(f) if f else 0)))
        self.page.goto(url)
        self.page.wait_for_selector(".lo-player[data-drawn='1']", timeout=60_000)
        self.page.wait_for_function("player.charts() > 0")

    def flip(self, t: float) -> tuple[float, float, float, int]:
        """(click → the new run's first minutes drawn, click → the whole new run drawn, the first
        measured in the page, bytes received until the whole run). A cached run arrives whole."""
        page = self.page
        page.evaluate(f"player.pause(); player.seek({t})")  # paused: the same flips again hit the cache
        page.wait_for_selector(IDLE)
        page.wait_for_function("!document.querySelector('.lo-switch').disabled")
        version, n0 = page.evaluate("player.version()"), len(self.received)
        t0 = time.perf_counter()
        page.get_by_role("switch", name="Data center power").click()
        page.wait_for_function(f"player.version() > {version}", polling=5, timeout=60_000)
        elapsed = time.perf_counter() - t0
        inside = page.evaluate("player.flipLatency()") / 1000
        self.apply.append((page.evaluate("player.applyTime ? player.applyTime() : 0") or 0) / 1000)
        page.wait_for_function(WHOLE, arg=version, polling=5, timeout=60_000)
        whole = time.perf_counter() - t0
        page.wait_for_selector(IDLE)
        return elapsed, whole, inside, sum(self.received[n0:])


def act(player: "PlayerPage", t: float, name: str = "Shed load") -> float:
    """Seconds from an operator action at simulated second t to its run's first minutes drawn. Each
    call first undoes the previous action (a cached run), so every action starts from the same run."""
    page = player.page
    page.evaluate(f"player.pause(); player.seek({t})")
    page.wait_for_selector(IDLE)
    page.wait_for_function("!document.querySelector('.lo-switch').disabled")
    if page.evaluate("player.actions().length"):
        page.evaluate("player.seek(0)")
        version = page.evaluate("player.version()")
        page.evaluate("player.undo()")
        page.wait_for_function(WHOLE, arg=version, polling=5, timeout=60_000)
        page.wait_for_selector(IDLE)
        page.evaluate(f"player.seek({t})")
    version = page.evaluate("player.version()")
    t0 = time.perf_counter()
    assert page.evaluate(f"player.act({name!r}, true)")
    page.wait_for_function(f"player.version() > {version}", polling=5, timeout=60_000)
    elapsed = time.perf_counter() - t0
    page.wait_for_function(WHOLE, arg=version, polling=5, timeout=60_000)
    page.wait_for_selector(IDLE)
    return elapsed


def actions_only(browser, app: str, button: str, repeat: int) -> None:
    player, bare = PlayerPage(browser, app), ButtonPage(browser, button)
    bare.click()
    # The stuck app of the challenge: power cut at 0:02 and back at 0:25 (by the switch), then actions.
    player.flip(120.0)
    player.flip(1500.0)
    acted, clicks = [], []
    for i in range(repeat):
        acted.append(act(player, 1800.0 + 130 * i))
        clicks.append(bare.click())
    print(f"action Shed load → its run's first minutes drawn {ms(acted):7.0f} ms   ratio {ms(acted) / ms(clicks):.2f}×"
          "   (target ≤ 2×, a new simulation each)")
    print(f"       st.button rerun round trip                {ms(clicks):7.0f} ms")


def reruns_during_playback(browser, url: str) -> tuple[int, float]:
    """Messages sent to the server while the whole timeline plays at 8×."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sent: list[int] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(1)))
    page.goto(url)
    page.wait_for_selector(".lo-player[data-drawn='1']", timeout=60_000)
    page.wait_for_selector(IDLE)
    page.wait_for_timeout(1000)
    before = len(sent)
    t0 = time.perf_counter()
    page.evaluate("player.setSpeed(8); player.seek(0); player.play()")
    page.wait_for_function("!player.playing()", timeout=300_000, polling=500)
    elapsed = time.perf_counter() - t0
    page.close()
    return len(sent) - before, elapsed


def server_breakdown(times: list[float]) -> dict[str, float]:
    """Medians (ms) of each part of a new-scenario rerun for the flips the browser made (free play,
    power cut at t), plus the first (cold) chart specs in a fresh process."""
    import json
    import sim
    from viz.charts import chart_specs
    from viz.player import build_payload

    free = sim.FREE_PLAY
    parts: dict[str, list[float]] = {"sim.run": [], "chart_specs": [], "sim.captions": [], "build_payload": [],
                                     "JSON (Streamlit, 2×)": []}
    cold = None
    for t in times:
        t0 = time.perf_counter()
        tl = sim.run(free.with_power_flip(t / 60, False))
        t1 = time.perf_counter()
        charts = chart_specs(tl)
        t2 = time.perf_counter()
        caps = [(c.t_s, c.text) for c in sim.captions(tl)]
        t3 = time.perf_counter()
        data = dict(build_payload(tl, charts, caps), ack="c", epoch=0)
        t4 = time.perf_counter()
        json.dumps(data), json.dumps(data, sort_keys=True)  # what components v2 does with `data`
        t5 = time.perf_counter()
        cold = t2 - t1 if cold is None else cold
        for name, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            parts[name].append(dt)
    out = {name: ms(v) for name, v in parts.items()}
    out["chart_specs, first call (cold)"] = cold * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--actions-only", action="store_true", help="only the operator-action round trip (5.)")
    args = ap.parse_args()
    if why := chromium_missing():
        sys.exit(f"cannot run: {why}")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "bare_line.py").write_text(BARE_LINE)
        (home / "bare_button.py").write_text(BARE_BUTTON)
        servers = [start_streamlit(ROOT / "app.py", home), start_streamlit(home / "bare_line.py", home, cwd=home),
                   start_streamlit(home / "bare_button.py", home, cwd=home)]
        (_, app), (_, line), (_, button) = servers
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=isolated_env(home))
                if args.actions_only:
                    open_once(browser, app, DRAWN)
                    actions_only(browser, app, button, args.repeat)
                    return
                cold_app = open_once(browser, app, DRAWN)  # warm-up: imports, first simulation, caches
                cold_bare = open_once(browser, line, "text=hello")
                app_open, bare_open = [], []
                for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
                    app_open.append(open_once(browser, app, DRAWN))
                    bare_open.append(open_once(browser, line, "text=hello"))
                player, bare = PlayerPage(browser, app), ButtonPage(browser, button)
                bare.click()
                times = [600.0 + 130 * i for i in range(args.repeat)]
                flip_new, flip_whole, flip_inside, sizes, bare_click = [], [], [], [], []
                for t in times:
                    elapsed, whole, inside, size = player.flip(t)
                    flip_new.append(elapsed), flip_whole.append(whole), flip_inside.append(inside), sizes.append(size)
                    bare_click.append(bare.click())
                player.page.reload()
                player.page.wait_for_selector(DRAWN)
                player.page.wait_for_function("player.charts() > 0")
                flip_cached = []
                for t in times:  # the same flips again, from the same start: cache hits
                    flip_cached.append(player.flip(t)[0])
                    bare_click.append(bare.click())
                reruns, played = reruns_during_playback(browser, app)
                browser.close()
        finally:
            for proc, _ in servers:
                stop(proc)

    print(f"repeats: {args.repeat} (medians)")
    print(f"open   explainer → graph drawn       {ms(app_open):7.0f} ms")
    print(f"       bare one-line page            {ms(bare_open):7.0f} ms   ratio {ms(app_open) / ms(bare_open):.2f}× (target ≤ 1.5×)")
    print(f"       first open of a fresh server  {cold_app * 1000:7.0f} ms   (bare: {cold_bare * 1000:.0f} ms; once per process)")
    print(f"flip   switch → new run applied (new scenario) {ms(flip_new):7.0f} ms   ratio {ms(flip_new) / ms(bare_click):.2f}×"
          f"   (in-page: {ms(flip_inside):.0f} ms; the first minutes after the flip)")
    print(f"       switch → whole new run applied         {ms(flip_whole):7.0f} ms   ratio {ms(flip_whole) / ms(bare_click):.2f}×"
          "   (the player asks for the rest at once)")
    print(f"       switch → new run applied (cached)       {ms(flip_cached):7.0f} ms   ratio {ms(flip_cached) / ms(bare_click):.2f}×")
    print(f"       in the player: new data received → drawn {ms(player.apply):6.0f} ms")
    print(f"       st.button rerun round trip              {ms(bare_click):7.0f} ms   (target ≤ 2×)")
    print(f"       bytes received per flip, both parts     {statistics.median(sizes):7.0f}")
    print(f"reruns during a full playback at 8× ({played:.0f} s): {reruns} messages sent to the server (target 0)")
    print("server side of a new-scenario flip (ms, medians, this process):")
    for name, value in server_breakdown(times).items():
        print(f"       {name:32s} {value:7.1f}")


if __name__ == "__main__":
    main()
