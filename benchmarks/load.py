"""A class at once: N concurrent visitors on one local `streamlit run app.py`, and a soak.

Load (default): N visitors, each opening the Explainer, flipping the "Data center power" switch at
its own paused player time (a new simulation per visitor, as when a class flips at different
moments; the page answers with the run's first minutes, then the whole run on the player's
request), playing (browser only), then picking the same preset as everyone else (one shared,
cached run). Barriers align the phases, so N visitors open at once, flip at once and pick at once
(the worst case); --spread-s W starts each visitor's phase at a random moment within W seconds.
Per phase: p50/p95 for N visitors against single visitors (one after another, same server, same
run) and the ratio; the server's peak RSS and CPU seconds; the client's CPU seconds; a correctness
check per visitor (its own flip shows in its own timeline, nobody else's does, no errors).

Clients: --client ws (default) — bare WebSocket sessions speaking Streamlit's protocol
(benchmarks/st_client.py), so the server's figures are not distorted by N browsers on the same 2
cores; a few single real-browser visits first measure the browser's own share of each phase, and
a visitor's view with N others is estimated as the ws time plus that share. --client browser — one
headless Chromium with N contexts driven concurrently by Playwright's async API (what a visitor
sees, but the browsers compete with the server for the CPU).

Soak (--soak-min M): a few browser visitors repeat control changes for M minutes — switch flips
at random moments, presets, scheduled cut minutes, Lab links with random settings, fresh pages
(new server sessions) — while the server's RSS is sampled every --sample-s seconds; prints
start/end/peak and the slope of a straight-line fit over the whole run and its second half.

  python benchmarks/load.py --sessions 30 --singles 5          # ~2 minutes
  python benchmarks/load.py --sessions 30 --spread-s 30         # arrivals spread over 30 s
  python benchmarks/load.py --client browser --sessions 10      # real browsers
  python benchmarks/load.py --soak-min 30 --soak-sessions 3    # 30 minutes
  python benchmarks/load.py --url http://127.0.0.1:PORT/ --sessions 4 --singles 0 --json out.json
      (against a server started elsewhere: no memory/CPU figures; used by tests/e2e/test_load_small.py)

Everything it starts (server, browser) is stopped on exit, errors included; every wait has a
timeout and every loop a count or a deadline. Load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.browser_helpers import (CHROMIUM, CHROMIUM_ARGS, chromium_missing, isolated_env,  # noqa: E402
                                       start_streamlit, stop)

DRAWN = ".lo-player[data-drawn='1']"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SWITCH = "Data center power"
CUT_INPUT = "Scheduled power cut (minute)"
SHARED_PRESET = "retry_storm"          # the preset every visitor picks in the last phase
STEP_S = 10
TIMEOUT_MS = 180_000                    # any single wait, under 30 visitors on 2 cores
POLL_MS = 50                            # wait_for_function polling (same for 1 and N visitors)
CLK = os.sysconf("SC_CLK_TCK")


# ---- the server's process tree, from /proc (no psutil needed) -----------------------------------
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """Proportional set size: the process's own pages plus its share of pages shared with others
    (the worker and its fork server share the model's and pandas' pages with each other)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of pid and of its reaped children."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in f[11:15]) / CLK


class Probe:
    """Samples a process tree's RSS and CPU every `every` seconds in a thread-free asyncio task.
    Processes that exit between samples keep their last CPU reading (tracked per pid)."""

    def __init__(self, pid: int, exclude: int | None = None, every: float = 0.25):
        self.pid, self.exclude, self.every = pid, exclude, every
        self.cpu_by_pid: dict[int, float] = {}
        self.peak_rss_kb = 0
        self.peak_pss_kb = self.last_pss_kb = 0
        self.processes = 0
        self.samples: list[tuple[float, int]] = []   # (time, RSS kB)

    def pids(self) -> list[int]:
        pids = tree(self.pid)
        if self.exclude is not None:
            skip = set(tree(self.exclude))
            pids = [p for p in pids if p not in skip]
        return pids

    def sample(self) -> int:
        """RSS summed over the tree (shared pages counted in every process that maps them); the
        PSS sum (each shared page counted once) is tracked beside it as peak_pss_kb."""
        rss = pss = 0
        pids = self.pids()
        for p in pids:
            rss += _status_kb(p, "VmRSS")
            pss += _pss_kb(p)
            self.cpu_by_pid[p] = max(self.cpu_by_pid.get(p, 0.0), cpu_seconds(p))
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.last_pss_kb = pss
        self.processes = max(self.processes, len(pids))
        self.samples.append((time.time(), rss))
        return rss

    def cpu(self) -> float:
        return sum(self.cpu_by_pid.values())

    def hwm_kb(self) -> int:
        """The kernel's own peak RSS (VmHWM) summed over the tree now."""
        return sum(_status_kb(p, "VmHWM") for p in self.pids())

    async def run(self, stop_event: asyncio.Event) -> None:
        while not stop_event.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop_event.wait(), self.every)
            except asyncio.TimeoutError:
                pass


# ---- one visitor --------------------------------------------------------------------------------
@dataclass
class Visit:
    index: int
    flip_at_s: float
    open_s: float | None = None        # page open → graph drawn
    first_s: float | None = None       # switch click → the first data of the new run shown (its first minutes)
    flip_s: float | None = None        # switch click → the whole re-simulated run (browser: applied by the player)
    play_s: float | None = None        # play → the clock 2 simulated minutes past the flip
    preset_s: float | None = None      # preset picked → its run applied
    total_s: float | None = None       # open → preset applied (the whole visit)
    ahead_s: float | None = None       # simulated seconds the first minutes reach past the flip
    rest_s: float | None = None        # the player's request for the rest → the whole run received
    ok: bool = False
    problems: list[str] = field(default_factory=list)


SPREAD_S = 0.0  # --spread-s: after each barrier a visitor waits a random 0..SPREAD_S s (0: all at once)


async def _barrier(barrier: asyncio.Barrier | None, timeout_s: float, v: "Visit", phase: int) -> None:
    """Wait for the other visitors, but never forever (a failed visitor aborts the barrier); then,
    with --spread-s, a seeded random delay so the phase's requests arrive spread over that window."""
    if barrier is None:
        return
    try:
        await asyncio.wait_for(barrier.wait(), timeout_s)
    except (asyncio.TimeoutError, asyncio.BrokenBarrierError):
        pass
    if SPREAD_S > 0:
        await asyncio.sleep(random.Random(v.index * 10 + phase).uniform(0, SPREAD_S))


async def _wait_version(page, version: int, timeout_ms: int = TIMEOUT_MS) -> None:
    await page.wait_for_function(f"player.version() > {version}", polling=POLL_MS, timeout=timeout_ms)


async def _ready(page) -> None:
    await page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    await page.wait_for_function("!document.querySelector('.lo-switch').disabled", polling=POLL_MS,
                                 timeout=TIMEOUT_MS)


# The whole new run is in the player (not only the first minutes after the flip that come first).
WHOLE_JS = "(v) => player.version() > v && document.querySelector('.lo-player').dataset.partial !== '1'"
CHECK_JS = """([tc]) => { const keep = player.time();
  const at = (t) => { player.seek(t); return Object.values(player.states()); };
  const before = at(Math.max(0, tc - 20)), after = [];
  for (let t = tc; t <= tc + 3600; t += 60) after.push(at(t));
  player.seek(keep);
  return { upBefore: before.every((s) => s === 'up'), downAfter: after.some((a) => a.some((s) => s !== 'up')) }; }"""


async def open_controls(page) -> None:
    """Open the popover that holds the preset picker and the scheduled times (unless it is open)."""
    if not await page.get_by_role("combobox", name="Scenario").is_visible():
        await page.get_by_role("button", name="Scenario and scheduled times").click()


async def close_controls(page) -> None:
    """Close the popover (if open): a click elsewhere while it is open only closes it, so a soak's
    switch click after a preset or a cut was lost (the "unchanged" actions of earlier soaks)."""
    picker = page.get_by_role("combobox", name="Scenario")
    if await picker.is_visible():
        await page.keyboard.press("Escape")
        await picker.wait_for(state="hidden", timeout=TIMEOUT_MS)


async def pick_preset(page, name: str) -> None:
    import sim  # noqa: PLC0415 — only the titles, imported when a visitor needs one
    await open_controls(page)
    await page.get_by_role("combobox", name="Scenario").click()
    await page.get_by_role("option", name=sim.PRESETS[name].title, exact=True).click()


async def visit(browser, url: str, v: Visit, barriers: list[asyncio.Barrier] | None) -> Visit:
    """Open → flip at v.flip_at_s (paused) → play → shared preset, timing each step, then check."""
    b = barriers or [None, None, None]
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    try:
        page = await ctx.new_page()
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        await _barrier(b[0], TIMEOUT_MS / 1000, v, 0)
        t0 = time.perf_counter()
        await page.goto(url, timeout=TIMEOUT_MS)
        await page.wait_for_selector(DRAWN, timeout=TIMEOUT_MS)
        v.open_s = time.perf_counter() - t0
        await page.evaluate(f"player.pause(); player.seek({v.flip_at_s})")
        await _ready(page)
        await _barrier(b[1], TIMEOUT_MS / 1000, v, 1)
        version = await page.evaluate("player.version()")
        t1 = time.perf_counter()
        await page.get_by_role("switch", name=SWITCH).click()
        await _wait_version(page, version)
        v.first_s = time.perf_counter() - t1
        await page.wait_for_function(WHOLE_JS, arg=version, polling=POLL_MS, timeout=TIMEOUT_MS)
        v.flip_s = time.perf_counter() - t1
        await _ready(page)
        t2 = time.perf_counter()
        await page.evaluate("player.setSpeed(8); player.play()")
        await page.wait_for_function(f"player.time() >= {v.flip_at_s + 120}", polling=POLL_MS, timeout=TIMEOUT_MS)
        v.play_s = time.perf_counter() - t2
        await page.evaluate("player.pause()")
        check = await page.evaluate(CHECK_JS, [v.flip_at_s])
        checked = await page.get_by_role("switch", name=SWITCH).get_attribute("aria-checked")
        if not check["upBefore"]:
            v.problems.append(f"something was not up before this visitor's own cut at {v.flip_at_s:.0f} s")
        if not check["downAfter"]:
            v.problems.append("this visitor's cut took nothing down")
        if checked != "false":
            v.problems.append(f"the switch shows aria-checked={checked!r} after the cut")
        await _barrier(b[2], TIMEOUT_MS / 1000, v, 2)
        version = await page.evaluate("player.version()")
        t3 = time.perf_counter()
        await pick_preset(page, SHARED_PRESET)
        await _wait_version(page, version)
        v.preset_s = time.perf_counter() - t3
        v.total_s = time.perf_counter() - t0
        if await page.locator('[data-testid="stException"]').count():
            v.problems.append("a traceback is shown")
    except Exception as exc:  # noqa: BLE001 — reported per visitor, the others go on
        await _give_up(v, exc, b)
    finally:
        await ctx.close()
    v.problems += [f"browser: {e[:200]}" for e in errors]
    v.ok = not v.problems
    return v


async def _give_up(v: Visit, exc: Exception, barriers: list) -> None:
    """A visit failed: note why (an exception may have no message) and release the others waiting
    at the phase barriers, so one broken visitor does not hold up the rest."""
    lines = str(exc).splitlines()
    v.problems.append(f"{type(exc).__name__}: {lines[0][:200] if lines else ''}")
    for bar in barriers:
        if bar is not None:
            await bar.abort()


async def ws_visit(url: str, v: Visit, barriers: list[asyncio.Barrier] | None) -> Visit:
    """The same visit over a bare WebSocket session (benchmarks/st_client.py): open → flip at
    v.flip_at_s → the shared preset; each time is until the server's `script_finished`."""
    import sim  # noqa: PLC0415
    from benchmarks.st_client import Session  # noqa: PLC0415
    b = barriers or [None, None, None]
    s = Session(url)
    limit = TIMEOUT_MS / 1000
    try:
        await _barrier(b[0], limit, v, 0)
        t0 = time.perf_counter()
        await s.connect(limit)
        r = await s.open(limit)
        v.open_s = time.perf_counter() - t0
        _check_run(v, "open", r)
        await _barrier(b[1], limit, v, 1)
        r, click = await s.flip(v.flip_at_s, False, limit)
        v.first_s = v.flip_s = r.seconds
        _check_run(v, "flip", r)
        if r.payload and r.payload.get("partial"):  # the first minutes: ask for the rest, as the player does
            first = r
            v.ahead_s = (first.payload["steps"] - 1) * first.payload["step_s"] - v.flip_at_s
            r = await s.rest(first.payload["id"], limit)
            v.flip_s, v.rest_s = first.seconds + r.seconds, r.seconds
            _check_run(v, "rest", r)
            if r.payload and r.payload.get("partial"):
                v.problems.append("rest: still only part of the run")
        if r.payload:
            harm = [e[0] for e in r.payload["events"] if e[1] >= 0 and e[2] != "up"]
            if r.payload.get("ack") != click:
                v.problems.append(f"flip: the run acknowledges click {r.payload.get('ack')!r}, not this visitor's")
            if not harm:
                v.problems.append("flip: this visitor's cut took nothing down")
            elif min(harm) < v.flip_at_s:
                v.problems.append(f"flip: harm at {min(harm):.0f} s, before this visitor's own cut "
                                  f"at {v.flip_at_s:.0f} s")
        await _barrier(b[2], limit, v, 2)
        t3 = time.perf_counter()
        r = await s.choose(sim.PRESETS[SHARED_PRESET].title, limit)
        v.preset_s = time.perf_counter() - t3
        _check_run(v, "preset", r)
        if r.payload and r.payload.get("epoch") != 1:
            v.problems.append(f"preset: epoch {r.payload.get('epoch')!r}, expected 1")
        v.total_s = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001 — reported per visitor, the others go on
        await _give_up(v, exc, b)
    finally:
        await s.close()
    v.ok = not v.problems
    return v


def _check_run(v: Visit, what: str, r) -> None:
    if r.status != "FINISHED_SUCCESSFULLY":
        v.problems.append(f"{what}: script run ended {r.status}")
    if r.payload is None and not r.payload_ref:
        v.problems.append(f"{what}: no player data was sent")
    v.problems += [f"{what}: {e}" for e in r.exceptions]


# ---- statistics and printing --------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float:
    """The q-quantile by linear interpolation (q=0.95 → p95)."""
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * q
    lo = int(k)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (k - lo)


# Where each phase ends: browser — the player shows it (graph drawn, player.version() moved on);
# ws — the server's script_finished (everything the page needs has been sent).
PHASES = [("open_s", "open the page"), ("first_s", "flip → its first minutes shown"),
          ("flip_s", "flip → the whole new run (a new scenario each)"),
          ("play_s", "play (browser only: 2 sim. minutes)"), ("preset_s", "pick the preset (shared, cached)"),
          ("total_s", "whole visit (open … preset; + waits if spread)")]


def summarise(singles: list[Visit], crowd: list[Visit]) -> dict:
    out = {}
    for key, label in PHASES:
        one = [getattr(v, key) for v in singles if getattr(v, key) is not None]
        many = [getattr(v, key) for v in crowd if getattr(v, key) is not None]
        row = {"label": label, "n_single": len(one), "n_crowd": len(many)}
        if one:
            row.update(single_p50=pct(one, .5), single_p95=pct(one, .95))
        if many:
            row.update(crowd_p50=pct(many, .5), crowd_p95=pct(many, .95))
        if one and many:
            row["p95_ratio"] = row["crowd_p95"] / row["single_p95"]
            row["p50_ratio"] = row["crowd_p50"] / row["single_p50"]
        out[key] = row
    return out


def estimate(browser_singles: list[dict] | None, singles: list[Visit], crowd_visits: list[Visit]) -> dict:
    """What a visitor would see with N others on the server: the WebSocket client's time under load
    plus the browser's own share of the phase (single browser visitor − single ws visitor, p50)."""
    if not browser_singles:
        return {}
    out = {}
    for key in ("open_s", "first_s", "flip_s", "preset_s"):
        b = [v[key] for v in browser_singles if v[key] is not None]
        one = [getattr(v, key) for v in singles if getattr(v, key) is not None]
        many = [getattr(v, key) for v in crowd_visits if getattr(v, key) is not None]
        if b and one and many:
            share = max(0.0, pct(b, .5) - pct(one, .5))
            out[key] = {"browser_single_p50": pct(b, .5), "browser_single_p95": pct(b, .95), "browser_share": share,
                        "visitor_p95": pct(many, .95) + share, "ratio": (pct(many, .95) + share) / pct(b, .95)}
    return out


def waits(visits: list[Visit], speed: float) -> list[float]:
    """How long each visitor's clock, playing on at `speed` from the flip, would wait at the end of
    the first minutes for the rest of the run (the player says "Simulating the rest of the run…");
    1× is one simulated minute per second."""
    return [max(0.0, v.rest_s - v.ahead_s / (60.0 * speed)) for v in visits
            if v.rest_s is not None and v.ahead_s is not None]


def print_waits(label: str, visits: list[Visit]) -> None:
    for speed in (1.0, 4.0, 8.0):
        w = waits(visits, speed)
        if w:
            print(f"  {label}, playing at {speed:g}×: {sum(x > 0 for x in w)}/{len(w)} wait; "
                  f"p50/p95 wait {pct(w, .5):5.2f} / {pct(w, .95):5.2f} s")


def print_summary(n: int, stats: dict) -> None:
    print(f"{'phase':46s} {'1 visitor p50/p95':>20s} {f'{n} visitors p50/p95':>22s}   p95 ratio")
    for row in stats.values():
        one = f"{row['single_p50']:6.2f} / {row['single_p95']:6.2f} s" if "single_p50" in row else "-"
        many = f"{row['crowd_p50']:6.2f} / {row['crowd_p95']:6.2f} s" if "crowd_p50" in row else "-"
        ratio = f"{row['p95_ratio']:5.2f}×" if "p95_ratio" in row else ""
        print(f"{row['label']:46s} {one:>20s} {many:>22s}   {ratio}")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---- the load run -------------------------------------------------------------------------------
def flip_times(count: int, start: int = 0) -> list[float]:
    """Distinct paused moments (whole steps, 10–110 simulated minutes) so that no two visitors in
    the whole run share a scenario — every flip is a new simulation."""
    return [float(600 + 60 * ((start + i) % 100)) for i in range(count)]


async def crowd(go, n: int, start: int) -> tuple[list[Visit], float]:
    """n visitors at once; go(visit, barriers) runs one."""
    barriers = [asyncio.Barrier(n) for _ in range(3)] if n > 1 else None
    visits = [Visit(i, t) for i, t in enumerate(flip_times(n, start))]
    t0 = time.perf_counter()
    done = await asyncio.wait_for(asyncio.gather(*(go(v, barriers) for v in visits)), timeout=TIMEOUT_MS / 1000 * 6)
    return list(done), time.perf_counter() - t0


async def run_load(args) -> dict:
    from playwright.async_api import async_playwright  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc, url = (None, args.url) if args.url else start_streamlit(ROOT / "app.py", home)
        result: dict = {"url_given": bool(args.url), "sessions": args.sessions, "client": args.client,
                        "spread_s": args.spread_s}
        stop_event = asyncio.Event()
        tasks = []
        try:
            need_browser = args.client == "browser" or args.browser_singles > 0
            async with (async_playwright() if need_browser else contextlib.nullcontext()) as p:
                browser = None
                if need_browser:
                    browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                      env=isolated_env(home))

                async def in_browser(v: Visit, barriers) -> Visit:
                    return await visit(browser, url, v, barriers)

                async def over_ws(v: Visit, barriers) -> Visit:
                    return await ws_visit(url, v, barriers)
                go = in_browser if args.client == "browser" else over_ws
                server = Probe(proc.pid) if proc else None
                client = Probe(os.getpid(), exclude=proc.pid if proc else None)
                for probe in filter(None, (server, client)):
                    tasks.append(asyncio.create_task(probe.run(stop_event)))
                warm = await go(Visit(-1, 590.0), None)  # imports, first run, shared caches
                result["warm_ok"], result["warm_problems"] = warm.ok, warm.problems
                if args.client == "ws" and args.browser_singles:
                    # The browser's own share of each phase (drawing, JS), measured one visitor at a
                    # time: in a class every student's browser runs on the student's own computer.
                    await in_browser(Visit(-2, 580.0), None)
                    calib = [await in_browser(Visit(90 + i, flip_times(1, 90 + i)[0]), None)
                             for i in range(args.browser_singles)]
                    result["browser_singles"] = [asdict(v) for v in calib]
                    await browser.close()
                    browser = None
                rss_idle = server.sample() if server else 0
                singles = []
                for i in range(args.singles):  # one at a time: the baseline
                    singles.append(await go(Visit(i, flip_times(1, i)[0]), None))
                if server:
                    server.sample()
                cpu0 = (server.cpu() if server else 0.0, client.cpu())
                peak_before = server.peak_rss_kb if server else 0
                if server:
                    server.peak_rss_kb = server.peak_pss_kb = 0
                la0 = loadavg()
                crowd_visits, wall = await crowd(go, args.sessions, args.singles)
                if server:
                    server.sample()
                client.sample()
                result.update(
                    loadavg_before=la0, loadavg_after=loadavg(), crowd_wall_s=wall,
                    singles=[asdict(v) for v in singles], crowd=[asdict(v) for v in crowd_visits],
                    stats=summarise(singles, crowd_visits),
                    estimate=estimate(result.get("browser_singles"), singles, crowd_visits),
                    client_cpu_s=client.cpu() - cpu0[1])
                if server:
                    result.update(server_rss_idle_mb=rss_idle / 1024, server_rss_peak_singles_mb=peak_before / 1024,
                                  server_rss_peak_crowd_mb=server.peak_rss_kb / 1024,
                                  server_vmhwm_mb=server.hwm_kb() / 1024, server_rss_end_mb=server.sample() / 1024,
                                  server_pss_peak_crowd_mb=server.peak_pss_kb / 1024, server_processes=server.processes,
                                  server_cpu_s=server.cpu() - cpu0[0])
                if browser:
                    await browser.close()
        finally:
            stop_event.set()
            for t in tasks:
                await t
            if proc:
                stop(proc)
    return result


def report_load(r: dict) -> None:
    n = r["sessions"]
    print(f"# load ({r['client']} client): {n} concurrent visitors (each phase "
          f"{'all at once' if not r['spread_s'] else 'spread over %g s' % r['spread_s']}), "
          f"{len(r['singles'])} single visitors as the baseline; "
          f"load average {r['loadavg_before']} → {r['loadavg_after']}")
    print_summary(n, r["stats"])
    bad = [v for v in r["crowd"] + r["singles"] if not v["ok"]]
    print(f"visitors with a correct, own result: {sum(v['ok'] for v in r['crowd'])}/{len(r['crowd'])} concurrent, "
          f"{sum(v['ok'] for v in r['singles'])}/{len(r['singles'])} single")
    for v in bad[:10]:
        print(f"  visitor {v['index']}: {'; '.join(v['problems'])[:300]}")
    print(f"the {n} visitors' run took {r['crowd_wall_s']:.1f} s wall clock")
    if any(v.get("rest_s") is not None for v in r["crowd"]):
        print("after a flip the clock plays the first minutes while the rest of the run is simulated;"
              " would it have to wait for the rest?")
        print_waits("1 visitor", [Visit(**v) for v in r["singles"]])
        print_waits(f"{n} visitors", [Visit(**v) for v in r["crowd"]])
    if r.get("estimate"):
        print(f"a visitor's view, estimated (ws time with {n} visitors + the browser's own share, measured with "
              f"{len(r['browser_singles'])} single browser visitors):")
        for key, e in r["estimate"].items():
            label = dict(PHASES)[key]
            print(f"  {label:44s} browser alone p50/p95 {e['browser_single_p50']:5.2f} / "
                  f"{e['browser_single_p95']:5.2f} s"
                  f" (browser's share {e['browser_share']:4.2f} s) → with {n}: p95 ≈ {e['visitor_p95']:5.2f} s,"
                  f" {e['ratio']:4.2f}× (target ≤ 3×)")
    if "server_rss_peak_crowd_mb" in r:
        print(f"server RSS: idle after warm-up {r['server_rss_idle_mb']:.0f} MB, peak during {n} visitors "
              f"{r['server_rss_peak_crowd_mb']:.0f} MB (VmHWM {r['server_vmhwm_mb']:.0f} MB; target ≤ 1024 MB), "
              f"after {r['server_rss_end_mb']:.0f} MB; "
              f"≈ {(r['server_rss_peak_crowd_mb'] - r['server_rss_idle_mb']) / n:.1f} MB "
              f"per concurrent visitor")
        print(f"server memory counting shared pages once (PSS, {r['server_processes']} processes: the server, "
              f"its simulation worker, fork server and resource tracker): peak {r['server_pss_peak_crowd_mb']:.0f} MB")
        print(f"CPU during the {n} visitors: server {r['server_cpu_s']:.1f} s, "
              f"client ({r['client']}) {r['client_cpu_s']:.1f} s "
              f"over {r['crowd_wall_s']:.1f} s on {os.cpu_count()} cores")


# ---- the soak -----------------------------------------------------------------------------------
def lab_link(rng: random.Random) -> str:
    """A Lab link with random settings (each a new simulation, so the Lab's cache fills)."""
    q = {"preset": rng.choice(["as_reported", "well_engineered", "retry_storm", "cooling_failure",
                               "counters_done_right"]),
         "seed": str(rng.randrange(1, 10_000)), "power_cut_min": str(rng.randrange(5, 60)),
         "max_retries": str(rng.randrange(0, 5)), "load": rng.choice(["0.8", "1", "1.2", "1.5"])}
    return "lab?" + urlencode(q)


async def soak_visitor(browser, url: str, k: int, deadline: float, counts: dict, rng: random.Random) -> None:
    """Random control changes until the deadline; a fresh page (a new server session) every ~12."""
    import sim  # noqa: PLC0415
    n, last = 0, ""
    while time.time() < deadline and n < 100_000:
        ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = await ctx.new_page()
            await page.goto(url, timeout=TIMEOUT_MS)
            await page.wait_for_selector(DRAWN, timeout=TIMEOUT_MS)
            for _ in range(12):
                if time.time() >= deadline:
                    break
                n += 1
                action = rng.choice(["flip", "flip", "preset", "cut", "lab"])
                await _ready(page)
                version = await page.evaluate("player.version()")
                if action == "flip":
                    await close_controls(page)
                    await page.evaluate(f"player.pause(); player.seek({rng.randrange(0, 1000) * STEP_S})")
                    await _ready(page)
                    await page.get_by_role("switch", name=SWITCH).click()
                elif action == "preset":  # a different one from the last (the same one changes nothing)
                    last = rng.choice([k for k in sim.PRESETS if k != last])
                    await pick_preset(page, last)
                elif action == "cut":
                    await open_controls(page)
                    box = page.get_by_label(CUT_INPUT, exact=True)
                    await box.fill(str(rng.randrange(1, 170)))
                    await box.press("Enter")
                else:
                    await page.goto(url + lab_link(rng), timeout=TIMEOUT_MS)
                    await page.wait_for_selector(DRAWN, timeout=TIMEOUT_MS)
                    await page.goto(url, timeout=TIMEOUT_MS)
                    await page.wait_for_selector(DRAWN, timeout=TIMEOUT_MS)
                    counts[action] = counts.get(action, 0) + 1
                    continue
                try:
                    await _wait_version(page, version, 20_000)
                    counts[action] = counts.get(action, 0) + 1
                except Exception:  # noqa: BLE001 — the same scenario again changes nothing drawn
                    counts["unchanged"] = counts.get("unchanged", 0) + 1
        except Exception as exc:  # noqa: BLE001
            first = str(exc).splitlines()[0][:160] if str(exc) else ""
            counts.setdefault("errors", []).append(f"visitor {k}: {type(exc).__name__}: {first}")
            if len(counts["errors"]) > 50:
                raise
        finally:
            await ctx.close()


def slope_mb_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS (MB) against time (min)."""
    if len(samples) < 2:
        return 0.0
    ts = [(t - samples[0][0]) / 60 for t, _ in samples]
    ms = [r / 1024 for _, r in samples]
    mt, mm = statistics.fmean(ts), statistics.fmean(ms)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (m - mm) for t, m in zip(ts, ms)) / den if den else 0.0


async def run_soak(args) -> dict:
    from playwright.async_api import async_playwright  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc, url = start_streamlit(ROOT / "app.py", home)
        counts: dict = {}
        series: list[tuple[float, int]] = []
        pss: list[int] = []
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                  env=isolated_env(home))
                server = Probe(proc.pid)
                warm = await visit(browser, url, Visit(-1, 590.0), None)
                t_start = time.time()
                deadline = t_start + args.soak_min * 60
                series.append((t_start, server.sample()))
                pss.append(server.last_pss_kb)
                print(f"soak start: RSS {series[-1][1] / 1024:.0f} MB, load average {loadavg()}", flush=True)
                workers = [asyncio.create_task(soak_visitor(browser, url, k, deadline, counts, random.Random(k)))
                           for k in range(args.soak_sessions)]
                while time.time() < deadline:
                    await asyncio.sleep(min(args.sample_s, max(0.0, deadline - time.time())))
                    series.append((time.time(), server.sample()))
                    pss.append(server.last_pss_kb)
                    print(f"  {(time.time() - t_start) / 60:5.1f} min  RSS {series[-1][1] / 1024:6.0f} MB  "
                          f"PSS {server.last_pss_kb / 1024:6.0f} MB  "
                          f"cpu {server.cpu():7.1f} s  load {loadavg()}  actions "
                          f"{ {k: v for k, v in counts.items() if k != 'errors'} }", flush=True)
                await asyncio.wait_for(asyncio.gather(*workers, return_exceptions=True), TIMEOUT_MS / 1000)
                await asyncio.sleep(5)
                series.append((time.time(), server.sample()))
                pss.append(server.last_pss_kb)
                await browser.close()
        finally:
            stop(proc)
    half = [s for s in series if s[0] >= series[0][0] + (series[-1][0] - series[0][0]) / 2]
    return {"warm_ok": warm.ok, "minutes": args.soak_min, "sessions": args.soak_sessions,
            "rss_start_mb": series[0][1] / 1024, "rss_end_mb": series[-1][1] / 1024,
            "rss_peak_mb": max(r for _, r in series) / 1024, "vmhwm_mb": server.peak_rss_kb / 1024,
            "pss_start_mb": pss[0] / 1024, "pss_end_mb": pss[-1] / 1024, "pss_peak_mb": max(pss) / 1024,
            "slope_all_mb_per_min": slope_mb_per_min(series), "slope_second_half_mb_per_min": slope_mb_per_min(half),
            "server_cpu_s": server.cpu(), "actions": {k: v for k, v in counts.items() if k != "errors"},
            "errors": counts.get("errors", []), "series_mb": [(round(t - series[0][0]), r // 1024) for t, r in series],
            "loadavg_end": loadavg()}


def report_soak(r: dict) -> None:
    print(f"# soak: {r['sessions']} visitors for {r['minutes']} min; actions {r['actions']}")
    print(f"server RSS start {r['rss_start_mb']:.0f} MB, end {r['rss_end_mb']:.0f} MB, peak {r['rss_peak_mb']:.0f} MB; "
          f"slope {r['slope_all_mb_per_min']:+.2f} MB/min overall, {r['slope_second_half_mb_per_min']:+.2f} MB/min "
          f"over the second half; PSS (shared pages once) start {r['pss_start_mb']:.0f} MB, end "
          f"{r['pss_end_mb']:.0f} MB, peak {r['pss_peak_mb']:.0f} MB; server CPU {r['server_cpu_s']:.0f} s; load average at the end {r['loadavg_end']}")
    print(f"errors: {len(r['errors'])}" + "".join(f"\n  {e}" for e in r["errors"][:10]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30, help="concurrent visitors (default 30)")
    ap.add_argument("--singles", type=int, default=5, help="single visitors one after another, the baseline")
    ap.add_argument("--client", choices=["ws", "browser"], default="ws",
                    help="ws: bare WebSocket sessions (server-side figures); "
                         "browser: Chromium contexts (what a visitor sees)")
    ap.add_argument("--browser-singles", type=int, default=3,
                    help="with --client ws: single browser visitors first, to add the browser's own share")
    ap.add_argument("--spread-s", type=float, default=0.0,
                    help="visitors start each phase at random within this many seconds (default 0: all at once)")
    ap.add_argument("--url", help="use a running server at this URL instead of starting one (127.0.0.1 only)")
    ap.add_argument("--soak-min", type=float, default=0, help="run the soak for this many minutes instead")
    ap.add_argument("--soak-sessions", type=int, default=3)
    ap.add_argument("--sample-s", type=float, default=30)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    global SPREAD_S
    SPREAD_S = args.spread_s
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit("--url must point at 127.0.0.1")
    if not 1 <= args.sessions <= 60:
        sys.exit("--sessions must be 1–60")
    if (args.client == "browser" or args.browser_singles or args.soak_min) and (why := chromium_missing()):
        sys.exit(f"cannot run: {why}")
    if args.soak_min:
        r = asyncio.run(run_soak(args))
        report_soak(r)
    else:
        r = asyncio.run(run_load(args))
        report_load(r)
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))
    visits = r.get("crowd", []) + r.get("singles", []) + r.get("browser_singles", [])
    ok = r.get("warm_ok") and not r.get("errors") and all(v["ok"] for v in visits)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
