"""Heavy links against the app's limits: the server's peak memory, and a light visitor's Lab time while
another session runs heavy work. Prints medians and ratios, like the other benchmarks.

Two phases, each against a freshly started `streamlit run app.py` with its simulation worker
(LIGHTS_OUT_WORKERS unset), driven by headless Chromium (Playwright):

  memory    One browser page opens, one after another, crafted heavy links:
              - Compare, 1440 min at 1-s steps on both sides (12 of them): above ui/runner.py's
                MAX_STEPS, so each must be refused up front — the page says so, quickly;
              - Lab at the largest allowed size (360 min at 1-s steps = MAX_STEPS), a new seed each;
              - Experiment, `duration_min=1440&step_s=1&points=20&seeds=5` (as written in the issue;
                its default 40-minute window makes each run 42 simulated minutes), then the same with
                `knob=load&window=1440` (100 runs of ~24 h: must be refused, the button disabled);
                "Run experiment" is pressed whenever the button is enabled;
              - Compare at the largest allowed size (360 min at 1-s steps on both sides), new seeds.
            The PSS of the server's process tree (server, worker, fork server, resource tracker;
            shared pages counted once; benchmarks/load.py's Probe) is sampled every 0.25 s.
            Target: peak ≤ 1 GB for any sequence of links. Per link: seconds until rendered (the
            script finished and the result or the refusal shown), whether a refusal was shown and
            when it first appeared (it must come before any simulation: a second or so, with the
            server's CPU for that link a fraction of a heavy run's), other messages, and the tree's
            peak PSS and CPU seconds while it was open. Ends with the server log's warnings and
            errors (tracebacks summarised).
  fairness  Session L (a browser context) opens light Lab links (the default preset, a new seed
            each: a real simulation each) N times alone; then session H (another context) loops
            heavy Lab links (360 min at 1-s steps, a new seed each) for the rest of the phase while
            L opens N more light links. Target: L's median time to render with H ≤ 2× alone. Also
            L's p95, how many of L's links overlapped one of H's heavy runs, and H's heavy runs
            completed (and failed).

Run (2 cores, a quiet machine; about 5 minutes):

    python benchmarks/bench_limits.py                      # both phases
    python benchmarks/bench_limits.py --phase memory
    python benchmarks/bench_limits.py --phase fairness --links 20
    python benchmarks/bench_limits.py --quick              # smoke test: 2 links per group

Everything it starts (servers, browser) is stopped on exit, errors included; every wait has a timeout
and every loop a count or a deadline. Needs Debian's chromium (as the browser tests).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import Probe, loadavg, pct, tree  # noqa: E402
from tests.e2e.browser_helpers import (CHROMIUM, CHROMIUM_ARGS, chromium_missing, isolated_env,  # noqa: E402
                                       start_streamlit, stop, streamlit_log)

TARGET_MB = 1024
FAIR_TARGET = 2.0
LINK_TIMEOUT_S = 180.0                  # any one link (a heavy run has a 15-s budget; queues add to it)
EXPERIMENT_TIMEOUT_S = 240.0            # a pressed experiment (its budget is 2 × 90 s)
POLL_S = 0.05
# ui/runner.check's refusal ("…the app simulates at most 21,600 steps a run…") and the Experiment
# page's ("…more than the 90 s one experiment may use on this shared server…").
REFUSAL = re.compile(r"simulates at most|one experiment may use", re.I)
DEFAULT_PRESET = "as_reported"          # sim.DEFAULT_PRESET: the Lab's default
HEAVY = {"duration_min": "360", "step_s": "1"}                  # MAX_STEPS exactly: the largest allowed
TOO_BIG = {"duration_min": "1440", "step_s": "1"}               # 86,400 steps: refused up front
# Streamlit's front end probes <page>/_stcore/health and host-config on a deep link before falling back
# to the root: those 404s are Streamlit's own (as in tests/e2e/test_links_browser.py).
PROBE_404 = re.compile(r"Failed to load resource: the server responded with a status of 404")

SNAPSHOT_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const texts = (sel) => [...document.querySelectorAll(sel)].map((e) => e.innerText.trim());
  const run = [...document.querySelectorAll('button')].find((b) => b.innerText.trim() === 'Run experiment');
  return {
    state: app ? app.getAttribute('data-test-script-state') : null,
    h1: texts('h1').join(' | '),
    alerts: texts('[data-testid="stAlert"]'),
    // textContent, not innerText: an exception inside a collapsed expander is in the DOM but not shown
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map((e) => e.textContent.trim().slice(0, 400)),
    drawn: !!document.querySelector(".lo-player[data-drawn='1']"),
    table: !!document.querySelector('[data-testid="stTable"]'),
    chart: !!document.querySelector('[data-testid="stVegaLiteChart"]'),
    progress: !!document.querySelector('[data-testid="stProgress"]'),
    button: run ? (run.disabled ? 'disabled' : 'enabled') : null,
  };
}"""


# ---- the server ----------------------------------------------------------------------------------
class PssProbe(Probe):
    """load.py's Probe, keeping every PSS sample too (for the peak while each link was open)."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(pid, every=every)
        self.pss: list[tuple[float, int]] = []

    def sample(self) -> int:
        rss = super().sample()
        self.pss.append((time.perf_counter(), self.last_pss_kb))
        return rss

    def peak_mb(self, t0: float, t1: float) -> float:
        inside = [kb for t, kb in self.pss if t0 <= t <= t1]
        return max(inside, default=self.last_pss_kb) / 1024


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)    # as the server binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start_server(home: Path, port: int) -> tuple[subprocess.Popen, str, Path]:
    """`streamlit run app.py` as tests/e2e/conftest.py starts it (browser_helpers.start_streamlit), on
    `port` (0: a free one), with the simulation worker: LIGHTS_OUT_WORKERS and fault injection unset."""
    if port:
        deadline = time.time() + 20          # the previous phase's server may still hold it
        while not _port_free(port) and time.time() < deadline:
            time.sleep(0.2)
        if not _port_free(port):
            raise RuntimeError(f"port {port} is in use")
    proc, url = start_streamlit(ROOT / "app.py", home, port=port or None,
                                drop_env=("LIGHTS_OUT_WORKERS", "LIGHTS_OUT_FAULT"))
    return proc, url, streamlit_log(home, url)


def log_findings(log_path: Path) -> list[str]:
    """What the server logged beyond its start-up lines: each warning or error line, and each
    traceback as the line before it (the log message), its last frame and its exception line."""
    lines = log_path.read_text(errors="replace").splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            frames = [x.strip() for x in lines[i + 1:j] if x.strip().startswith("File ")]
            before = lines[i - 1].strip() if i else ""
            out.append(" · ".join(filter(None, [before[:200], frames[-1][:200] if frames else "",
                                                lines[j].strip()[:240] if j < len(lines) else ""])))
            i = j + 1
            continue
        if re.search(r"\b(ERROR|WARNING|CRITICAL)\b|Error:|Exception:", line):
            out.append(line.strip()[:240])
        i += 1
    return out


async def wait_worker(proc: subprocess.Popen, timeout_s: float = 60.0) -> int:
    """Wait until the simulation worker's processes exist (server + fork server + worker ≥ 3)."""
    deadline = time.time() + timeout_s
    n = len(tree(proc.pid))
    while n < 3 and time.time() < deadline:
        await asyncio.sleep(0.25)
        n = len(tree(proc.pid))
    return n


# ---- one link ------------------------------------------------------------------------------------
@dataclass
class Opened:
    label: str
    kind: str                           # lab, compare, experiment
    url: str
    expect_refusal: bool | None         # None: not judged
    seconds: float | None = None        # open → rendered (script finished, result or refusal shown)
    refused: bool = False
    refused_at_s: float | None = None   # open → the refusal first shown
    messages: list[str] = field(default_factory=list)      # every alert's text (refusals included)
    exceptions: list[str] = field(default_factory=list)    # Streamlit's exception boxes (a crash)
    console: list[str] = field(default_factory=list)       # browser console errors
    result: bool = False                # the run's result is on the page (player drawn / table / chart)
    button: str | None = None           # Experiment: the "Run experiment" button
    pressed_s: float | None = None      # Experiment: press → result (or failure) shown
    pressed_messages: list[str] = field(default_factory=list)
    peak_mb: float = 0.0
    cpu_s: float | None = None          # the server tree's CPU seconds while it was open (a refusal: no run)
    t0: float = 0.0
    t1: float = 0.0
    problem: str = ""


def _done(kind: str, s: dict) -> bool:
    if s["exceptions"]:
        return s["state"] == "notRunning"
    if s["state"] != "notRunning":
        return False
    if kind == "lab":            # simulated before the title; with a result (the outcome table) wait for the
        # player to draw (its component mounts after the script ends); without one the page stopped at a notice
        return "Lab" in s["h1"] and (s["drawn"] if s["table"] else bool(s["alerts"]))
    if kind == "compare":        # both sides simulated before the title; st.stop() before the table if refused
        return "Compare" in s["h1"] and (s["table"] or bool(s["alerts"]))
    if kind == "experiment":     # draws at once; simulates only when the button is pressed
        return s["button"] is not None
    raise ValueError(kind)


async def _snapshot(page) -> dict | None:
    try:
        return await page.evaluate(SNAPSHOT_JS)
    except Exception:  # noqa: BLE001 — the document is being replaced (navigation): look again
        return None


async def _poll(page, o: Opened, t0: float, until, timeout_s: float) -> tuple[dict | None, float]:
    """Poll the page until `until(snapshot)`; note when a refusal first shows. (snapshot, seconds)."""
    deadline = t0 + timeout_s
    snap = None
    while time.perf_counter() < deadline:
        snap = await _snapshot(page)
        now = time.perf_counter()
        if snap is not None:
            if o.refused_at_s is None and any(REFUSAL.search(a) for a in snap["alerts"]):
                o.refused_at_s = now - t0
            if until(snap):
                return snap, now - t0
        await asyncio.sleep(POLL_S)
    return snap, None


async def open_link(page, base: str, o: Opened, probe: PssProbe | None, console: list[str],
                    press: bool = True) -> Opened:
    console.clear()
    if probe is not None:
        probe.sample()
        cpu0 = probe.cpu()
    o.t0 = t0 = time.perf_counter()
    try:
        await page.goto(base + o.url, wait_until="commit", timeout=LINK_TIMEOUT_S * 1000)
        snap, o.seconds = await _poll(page, o, t0, lambda s: _done(o.kind, s), LINK_TIMEOUT_S)
        if snap is None or o.seconds is None:
            o.problem = f"not rendered within {LINK_TIMEOUT_S:g} s (last state {snap and snap['state']})"
        else:
            o.messages = [" ".join(a.split()) for a in snap["alerts"]]
            o.exceptions = snap["exceptions"]
            o.refused = any(REFUSAL.search(a) for a in o.messages)
            o.result = {"lab": snap["drawn"] and snap["table"], "compare": snap["table"],
                        "experiment": snap["chart"]}[o.kind]
            o.button = snap["button"]
            if o.kind == "experiment" and o.button == "enabled" and press:
                before = set(o.messages)
                t1 = time.perf_counter()
                await page.get_by_role("button", name="Run experiment").click()

                def finished(s: dict) -> bool:
                    failed = any("could not be" in a for a in s["alerts"])
                    return (s["state"] == "notRunning" and not s["progress"] and (s["chart"] or failed)) \
                        or bool(s["exceptions"])
                snap, o.pressed_s = await _poll(page, o, t1, finished, EXPERIMENT_TIMEOUT_S)
                if snap is None or o.pressed_s is None:
                    o.problem = f"the experiment did not finish within {EXPERIMENT_TIMEOUT_S:g} s"
                else:
                    o.pressed_messages = [" ".join(a.split()) for a in snap["alerts"]
                                          if " ".join(a.split()) not in before]
                    o.exceptions += snap["exceptions"]
                    o.result = snap["chart"]
                    o.refused = o.refused or any(REFUSAL.search(a) for a in o.pressed_messages)
    except Exception as exc:  # noqa: BLE001 — reported with the link, the sequence goes on
        o.problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    o.t1 = time.perf_counter()
    o.console = [c for c in console if not PROBE_404.search(c)]
    if probe is not None:
        probe.sample()
        o.peak_mb = probe.peak_mb(o.t0, o.t1 + 0.01)
        o.cpu_s = probe.cpu() - cpu0
    return o


async def new_page(browser):
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1200})
    page = await ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    return ctx, page, console


async def warm_up(browser, url: str) -> float:
    """The root page once (imports, the first run; the server leaves Streamlit's legacy pages mode)."""
    ctx, page, _ = await new_page(browser)
    t0 = time.perf_counter()
    try:
        await page.goto(url, timeout=LINK_TIMEOUT_S * 1000)
        await page.wait_for_selector(".lo-player[data-drawn='1']", timeout=LINK_TIMEOUT_S * 1000)
    finally:
        await ctx.close()
    return time.perf_counter() - t0


# ---- links ---------------------------------------------------------------------------------------
def lab_url(seed: int, **settings: str) -> str:
    return "lab?" + urlencode({"preset": DEFAULT_PRESET, **settings, "seed": str(seed)})


def compare_url(seed: int, **settings: str) -> str:
    q = {"a.preset": "retry_storm", "b.preset": "retry_storm", "b.retry_policy": "backoff"}
    for side in ("a", "b"):
        q.update({f"{side}.{k}": v for k, v in settings.items()})
        q[f"{side}.seed"] = str(seed)
    return "compare?" + urlencode(q)


def memory_links(n_refused: int, n_heavy: int) -> list[Opened]:
    links = [Opened(f"compare 1440 min @ 1 s, seed {100 + i}", "compare", compare_url(100 + i, **TOO_BIG), True)
             for i in range(n_refused)]
    links += [Opened(f"lab 360 min @ 1 s, seed {200 + i}", "lab", lab_url(200 + i, **HEAVY), False)
              for i in range(n_heavy)]
    links.append(Opened("experiment 1440 min @ 1 s, 20 points × 5 seeds (window 40)", "experiment",
                        "experiment?" + urlencode({**TOO_BIG, "points": "20", "seeds": "5"}), None))
    links.append(Opened("experiment 1440 min @ 1 s, load × 20 points × 5 seeds, window 1440", "experiment",
                        "experiment?" + urlencode({**TOO_BIG, "knob": "load", "points": "20", "seeds": "5",
                                                   "window": "1440"}), True))
    links += [Opened(f"compare 360 min @ 1 s, seed {300 + i}", "compare", compare_url(300 + i, **HEAVY), False)
              for i in range(n_heavy)]
    return links


# ---- phases --------------------------------------------------------------------------------------
async def phase_memory(args, browser_launch) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc, url, log_path = start_server(home, args.port)
        stop_event = asyncio.Event()
        task = None
        try:
            probe = PssProbe(proc.pid)
            task = asyncio.create_task(probe.run(stop_event))
            browser = await browser_launch(home)
            la0 = loadavg()
            warm_s = await warm_up(browser, url)
            processes = await wait_worker(proc)
            await asyncio.sleep(2)          # the worker's own warm-up
            probe.sample()
            pss_warm = probe.last_pss_kb / 1024
            probe.peak_pss_kb = probe.peak_rss_kb = 0
            ctx, page, console = await new_page(browser)
            links = memory_links(args.refused, args.heavy)
            for i, o in enumerate(links):
                await open_link(page, url, o, probe, console)
                print(f"  [{i + 1}/{len(links)}] {o.label}: {fmt_s(o.seconds)}"
                      f"{', refused' if o.refused else ''}, PSS {probe.last_pss_kb / 1024:.0f} MB", flush=True)
            await ctx.close()
            await asyncio.sleep(3)          # let the last run's memory settle
            probe.sample()
            end_mb = probe.last_pss_kb / 1024
            await browser.close()
        finally:
            stop_event.set()
            if task:
                await task
            stop(proc)
        return {"links": links, "pss_warm_mb": pss_warm, "pss_peak_mb": probe.peak_pss_kb / 1024,
                "pss_end_mb": end_mb, "rss_peak_mb": probe.peak_rss_kb / 1024, "processes": processes,
                "max_processes": probe.processes, "warm_s": warm_s, "loadavg": (la0, loadavg()),
                "log": log_findings(log_path), "cpu_s": probe.cpu()}


async def phase_fairness(args, browser_launch) -> dict:
    n = args.links
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        proc, url, log_path = start_server(home, args.port)
        stop_event = asyncio.Event()
        task = None
        heavy: list[Opened] = []
        try:
            probe = PssProbe(proc.pid)
            client = Probe(os.getpid(), exclude=proc.pid)      # this script and its browser
            task = asyncio.gather(probe.run(stop_event), client.run(stop_event))
            browser = await browser_launch(home)
            la0 = loadavg()
            await warm_up(browser, url)
            processes = await wait_worker(proc)
            await asyncio.sleep(2)
            lctx, lpage, lconsole = await new_page(browser)
            for i in range(2):              # the Lab page's first opens (imports, first views): not measured
                await open_link(lpage, url, Opened("warm", "lab", lab_url(4000 + i), False), None, lconsole)
            cpu = [(time.perf_counter(), probe.cpu(), client.cpu())]
            alone = [await open_link(lpage, url, Opened(f"light {i}", "lab", lab_url(5000 + i), False), None,
                                     lconsole) for i in range(n)]
            probe.sample(), client.sample()
            cpu.append((time.perf_counter(), probe.cpu(), client.cpu()))

            hctx, hpage, hconsole = await new_page(browser)
            h_stop = asyncio.Event()
            h_running = asyncio.Event()

            async def session_h() -> None:
                for i in range(100_000):
                    if h_stop.is_set():
                        return
                    o = Opened(f"heavy {i}", "lab", lab_url(7000 + i, **HEAVY), False)
                    heavy.append(o)
                    job = asyncio.create_task(open_link(hpage, url, o, None, hconsole))
                    if not h_running.is_set():      # L starts once H's first heavy run is under way
                        t = time.perf_counter()
                        while time.perf_counter() - t < 60 and not job.done():
                            s = await _snapshot(hpage)
                            if s and s["state"] == "running":
                                await asyncio.sleep(0.5)
                                break
                            await asyncio.sleep(POLL_S)
                        h_running.set()
                    await job

            h_task = asyncio.create_task(session_h())
            await asyncio.wait_for(h_running.wait(), 120)
            probe.sample(), client.sample()
            cpu.append((time.perf_counter(), probe.cpu(), client.cpu()))
            t_with0 = time.perf_counter()
            together = [await open_link(lpage, url, Opened(f"light {i} with H", "lab", lab_url(6000 + i), False),
                                        None, lconsole) for i in range(n)]
            t_with1 = time.perf_counter()
            probe.sample(), client.sample()
            cpu.append((time.perf_counter(), probe.cpu(), client.cpu()))
            h_stop.set()
            try:
                await asyncio.wait_for(h_task, LINK_TIMEOUT_S)
            except asyncio.TimeoutError:
                h_task.cancel()
            await lctx.close()
            await hctx.close()
            await browser.close()
        finally:
            stop_event.set()
            if task:
                await task
            stop(proc)
        log = log_findings(log_path)
    overlap = sum(any(h.t0 < o.t1 and o.t0 < h.t1 for h in heavy) for o in together)
    busy = sum(max(0.0, min(h.t1, t_with1) - max(h.t0, t_with0)) for h in heavy)
    return {"alone": alone, "together": together, "heavy": heavy, "overlap": overlap,
            "h_busy": busy / max(1e-9, t_with1 - t_with0), "with_wall_s": t_with1 - t_with0,
            "processes": processes, "pss_peak_mb": probe.peak_pss_kb / 1024, "loadavg": (la0, loadavg()),
            "log": log, "cpu": {"alone": [b - a for a, b in zip(cpu[0], cpu[1])],
                                "with": [b - a for a, b in zip(cpu[2], cpu[3])]}}


# ---- printing ------------------------------------------------------------------------------------
def fmt_s(x: float | None) -> str:
    return "  –   " if x is None else f"{x:6.2f} s"


def short(text: str, n: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def report_memory(r: dict) -> bool:
    links: list[Opened] = r["links"]
    print(f"\n# memory: {len(links)} heavy links in one browser page, one after another; load average "
          f"{r['loadavg'][0]} → {r['loadavg'][1]}")
    print(f"{'link':64s} {'rendered':>9s}  {'refused (shown at)':19s} {'PSS peak':>9s} {'server CPU':>10s}")
    for o in links:
        ref = f"yes ({o.refused_at_s:.2f} s)" if o.refused and o.refused_at_s is not None else \
            ("yes" if o.refused else "no")
        if o.expect_refusal is not None and o.refused != o.expect_refusal:
            ref += " !"
        print(f"{o.label:64s} {fmt_s(o.seconds):>9s}  {ref:19s} {o.peak_mb:6.0f} MB {o.cpu_s or 0:8.2f} s"
              + (f"   result {'shown' if o.result else 'NOT shown'}" if not o.refused else ""))
        if o.kind == "experiment":
            print(f"{'':6s}button {o.button or 'absent'}" + (f"; pressed → finished in {o.pressed_s:.2f} s"
                                                             if o.pressed_s is not None else ""))
        for m in o.messages + o.pressed_messages:
            print(f"{'':6s}message: {short(m)}")
        for e in o.exceptions:
            print(f"{'':6s}EXCEPTION: {short(e, 300)}")
        for c in o.console[:3]:
            print(f"{'':6s}console: {short(c)}")
        if o.problem:
            print(f"{'':6s}PROBLEM: {o.problem}")
    ok = True
    groups = [("compare, 1440 min @ 1 s (must be refused)", [o for o in links if o.label.startswith("compare 1440")]),
              ("lab, 360 min @ 1 s (largest allowed)", [o for o in links if o.label.startswith("lab 360")]),
              ("compare, 360 min @ 1 s (largest allowed)", [o for o in links if o.label.startswith("compare 360")])]
    print("medians:")
    for name, group in groups:
        secs = [o.seconds for o in group if o.seconds is not None]
        refused = [o.refused_at_s for o in group if o.refused_at_s is not None]
        line = f"  {name:46s} {len(group)} links: rendered median {statistics.median(secs):.2f} s, max " \
               f"{max(secs):.2f} s" if secs else f"  {name:46s} {len(group)} links: none rendered"
        if refused:
            line += f"; refusal shown median {statistics.median(refused):.2f} s, max {max(refused):.2f} s"
        line += f"; refused {sum(o.refused for o in group)}/{len(group)}"
        cpus = [o.cpu_s for o in group if o.cpu_s is not None]
        if cpus:
            line += f"; server CPU median {statistics.median(cpus):.2f} s"
        print(line)
    wrong = [o for o in links if (o.expect_refusal is not None and o.refused != o.expect_refusal) or o.problem
             or o.exceptions or (o.expect_refusal is False and not o.result)]
    if wrong:
        ok = False
        print(f"links not as expected (refused when they should not be, or not refused when they should, or "
              f"no result, a crash or a timeout): {len(wrong)} — " + "; ".join(o.label for o in wrong))
    met = r["pss_peak_mb"] <= TARGET_MB
    ok = ok and met
    print(f"server memory, PSS of the process tree (server, worker, fork server, resource tracker: "
          f"{r['max_processes']} processes; shared pages once): after warm-up {r['pss_warm_mb']:.0f} MB, "
          f"peak {r['pss_peak_mb']:.0f} MB (target ≤ {TARGET_MB} MB: {'met' if met else 'MISSED'}), "
          f"end {r['pss_end_mb']:.0f} MB; RSS summed peak {r['rss_peak_mb']:.0f} MB; "
          f"CPU {r['cpu_s']:.0f} s")
    print_log(r["log"])
    return ok


def report_fairness(r: dict) -> bool:
    alone = [o.seconds for o in r["alone"] if o.seconds is not None]
    together = [o.seconds for o in r["together"] if o.seconds is not None]
    heavy = r["heavy"]
    done = [h for h in heavy if h.result and not h.problem]
    failed = [h for h in heavy if h.seconds is not None and not h.result]
    print(f"\n# fairness: session L opens light Lab links ({DEFAULT_PRESET}, a new seed each), "
          f"{len(r['alone'])} alone, then {len(r['together'])} while session H loops heavy Lab links "
          f"(360 min @ 1 s); load average {r['loadavg'][0]} → {r['loadavg'][1]}")
    ok = bool(alone and together)
    if ok:
        ratio = statistics.median(together) / statistics.median(alone)
        met = ratio <= FAIR_TARGET
        ok = met
        print(f"L alone            open → rendered median {statistics.median(alone):5.2f} s, p95 {pct(alone, .95):5.2f} s")
        print(f"L while H is heavy open → rendered median {statistics.median(together):5.2f} s, "
              f"p95 {pct(together, .95):5.2f} s")
        print(f"ratio of medians {ratio:.2f}× (target ≤ {FAIR_TARGET:g}×: {'met' if met else 'MISSED'}); "
              f"p95 ratio {pct(together, .95) / pct(alone, .95):.2f}×")
    print(f"L's links that overlapped one of H's heavy runs: {r['overlap']}/{len(r['together'])}; "
          f"H was running a heavy link {r['h_busy'] * 100:.0f} % of L's {r['with_wall_s']:.1f} s")
    hs = [h.seconds for h in done]
    print(f"H: {len(done)} heavy runs completed" + (f" (median {statistics.median(hs):.2f} s each)" if hs else "")
          + f", {len(failed)} failed, {len(heavy) - len(done) - len(failed)} unfinished or in error")
    for o in r["alone"] + r["together"] + heavy:
        bad = [m for m in o.messages] + o.exceptions + ([o.problem] if o.problem else [])
        if bad or (o.seconds is not None and not o.result):
            ok = False if o in r["alone"] + r["together"] else ok
            print(f"  {o.label}: {'result shown' if o.result else 'NO result'}; " + "; ".join(short(b) for b in bad))
    for name, (wall, server, browser) in r["cpu"].items():
        print(f"CPU while L {'was alone' if name == 'alone' else 'ran beside H'}: server tree {server:.1f} s, "
              f"this script and its browser {browser:.1f} s, over {wall:.1f} s on {os.cpu_count()} cores")
    print(f"server PSS peak {r['pss_peak_mb']:.0f} MB ({r['processes']} processes after the warm-up)")
    print_log(r["log"])
    return ok


def print_log(lines: list[str]) -> None:
    if lines:
        print(f"server log: {len(lines)} warning/error lines, first ones:")
        for line in lines[:8]:
            print(f"  {line}")
    else:
        print("server log: no warnings or errors")


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smoke test: 2 links per group")
    ap.add_argument("--phase", choices=["memory", "fairness", "both"], default="both")
    ap.add_argument("--port", type=int, default=0, help="start each phase's server on this port (default: a free one)")
    ap.add_argument("--links", type=int, help="fairness: L's light links alone and with H (default 15; --quick 3)")
    ap.add_argument("--heavy", type=int, help="memory: Lab and Compare links at the largest allowed size, "
                                              "each (default 8; --quick 2)")
    ap.add_argument("--refused", type=int, help="memory: Compare links at 1440 min @ 1 s (default 12; --quick 2)")
    args = ap.parse_args()
    args.links = args.links or (3 if args.quick else 15)
    args.heavy = args.heavy if args.heavy is not None else (2 if args.quick else 8)
    args.refused = args.refused if args.refused is not None else (2 if args.quick else 12)
    if why := chromium_missing():
        sys.exit(f"cannot run: {why}")
    if os.environ.get("LIGHTS_OUT_WORKERS"):
        print(f"note: LIGHTS_OUT_WORKERS={os.environ['LIGHTS_OUT_WORKERS']} is ignored: the servers start "
              f"with their simulation worker")
    budget = os.environ.get("LIGHTS_OUT_SIM_BUDGET_S")
    print(f"# bench_limits — Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}"
          + (f", LIGHTS_OUT_SIM_BUDGET_S={budget}" if budget else ""))

    async def go() -> bool:
        from playwright.async_api import async_playwright  # noqa: PLC0415

        ok = True
        async with async_playwright() as p:
            async def launch(home: Path):
                return await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=isolated_env(home))
            if args.phase in ("memory", "both"):
                ok = report_memory(await phase_memory(args, launch)) and ok
            if args.phase in ("fairness", "both"):
                ok = report_fairness(await phase_fairness(args, launch)) and ok
        return ok

    sys.exit(0 if asyncio.run(go()) else 1)


if __name__ == "__main__":
    main()
