"""Cold start: from launching `python -m streamlit run app.py` to the Explainer's first complete
render (the player's graph drawn) in headless Chromium, against a one-line Streamlit page measured
the same way in the same run (interleaved, a fresh server and a fresh browser context each time).

Also prints the import cost of what the pages import (`python -X importtime`, top-level modules by
cumulative time) — nothing heavy should happen at import time.

  python benchmarks/bench_cold_start.py [--repeat 5]

"Cold" here is a new server process with the OS file cache and .pyc files warm (as on a container
that wakes up); a first deployment also compiles .pyc files once.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.browser_helpers import (CHROMIUM, CHROMIUM_ARGS, chromium_missing, free_port,  # noqa: E402
                                       isolated_env, stop)

BARE = 'import streamlit as st\nst.write("hello")\n'
DRAWN = ".lo-player[data-drawn='1']"
PAGE_IMPORTS = ["sim", "viz.charts", "viz.player", "viz.whatif", "classroom", "classroom.ui", "ui.widgets"]


def launch(script: Path, home: Path, cwd: Path) -> tuple[subprocess.Popen, str, float]:
    """Start a server; return (process, URL, perf_counter at launch)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", "--server.enableStaticServing", "true"]
    log = open(home / f"streamlit-{port}.log", "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=isolated_env(home), stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}/", t0


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float = 90) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited during start")
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"streamlit did not become healthy in {timeout} s")


def cold_start(browser, script: Path, home: Path, cwd: Path, ready: str) -> tuple[float, float]:
    """(launch → /_stcore/health ok, launch → `ready` shown) in seconds, for one fresh server."""
    proc, url, t0 = launch(script, home, cwd)
    try:
        wait_healthy(proc, url)
        healthy = time.perf_counter() - t0
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})  # empty HTTP cache
        try:
            page = ctx.new_page()
            page.goto(url, timeout=120_000)
            page.wait_for_selector(ready, timeout=120_000)
            shown = time.perf_counter() - t0
        finally:
            ctx.close()
    finally:
        stop(proc)
    return healthy, shown


def import_times(modules: list[str]) -> list[tuple[float, str]]:
    """Top-level imports by cumulative time (seconds) when importing `modules` in a fresh interpreter."""
    code = "; ".join(f"import {m}" for m in modules)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    out = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 1:  # depth 0: imported by the code above, not by another module
            out.append((int(m.group(2)) / 1e6, m.group(4)))
    return sorted(out, reverse=True)


def wall_import(modules: list[str], repeat: int = 3) -> float:
    """Median wall time of a fresh interpreter importing `modules`, minus a bare interpreter's."""
    def once(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
        return time.perf_counter() - t0
    bare = statistics.median(once("pass") for _ in range(repeat))
    return statistics.median(once("; ".join(f"import {m}" for m in modules)) for _ in range(repeat)) - bare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if why := chromium_missing():
        sys.exit(f"cannot run: {why}")
    from playwright.sync_api import sync_playwright

    load0 = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    app, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "bare.py").write_text(BARE)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=isolated_env(home))
            try:
                for _ in range(args.repeat):  # interleaved: machine noise hits both alike
                    app.append(cold_start(browser, ROOT / "app.py", home, ROOT, DRAWN))
                    bare.append(cold_start(browser, home / "bare.py", home, home, "text=hello"))
            finally:
                browser.close()
    load1 = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    def med(xs: list[tuple[float, float]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    print(f"# cold start, {args.repeat} fresh servers each (medians); load average {load0} → {load1}")
    print(f"launch → /_stcore/health ok: app {med(app, 0):5.2f} s, one-line page {med(bare, 0):5.2f} s")
    print(f"launch → first complete render: app (graph drawn) {med(app, 1):5.2f} s, one-line page (text shown) "
          f"{med(bare, 1):5.2f} s, ratio {med(app, 1) / med(bare, 1):.2f}×")
    runs = (", ".join(f"{s:.2f}" for _, s in xs) for xs in (app, bare))
    print(f"  all app runs: {next(runs)} s; bare: {next(runs)} s")
    print(f"\nimport cost, fresh interpreter (median of 3, minus `python -c pass`):")
    for mods in (["streamlit"], ["sim"], ["sim", "viz.charts", "viz.player"], PAGE_IMPORTS,
                 ["streamlit"] + PAGE_IMPORTS):
        print(f"  {' + '.join(mods):70s} {wall_import(mods):5.2f} s")
    print("\n`python -X importtime` of the pages' own imports (after streamlit), top-level by cumulative time:")
    for secs, name in import_times(["streamlit"] + PAGE_IMPORTS)[:12]:
        print(f"  {secs:6.3f} s  {name}")


if __name__ == "__main__":
    main()
