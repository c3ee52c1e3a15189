"""Helpers for browser tests and the page benchmark: start `streamlit run` on a free localhost
port with HOME/XDG in a temp dir (Streamlit and Chromium write there), launch Debian's chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.lower())
    return env


def start_streamlit(script: Path, home: Path, cwd: Path = ROOT, port: int | None = None,
                    drop_env: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run script` on a free port (or `port`); return (process, base URL) once
    healthy. Its log is `streamlit_log(home, url)`; `drop_env` names variables it must not inherit."""
    port = port if port else free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", "--server.enableStaticServing", "true"]
    env = isolated_env(home)
    for name in drop_env:
        env.pop(name, None)
    log_path = home / f"streamlit-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log_path.read_text()[-2000:]}")
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("streamlit did not become healthy in 60 s")


def streamlit_log(home: Path, url: str) -> Path:
    """The log file of a server `start_streamlit` started."""
    return home / f"streamlit-{url.rstrip('/').rsplit(':', 1)[1]}.log"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


class Watch:
    """Console errors, page errors and every requested URL of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.urls.append(r.url))


def open_player(browser, url: str, width: int = 1400, height: int = 1600):
    """A new page on the app with the player's graph drawn; returns (page, watch)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    watch = Watch(page)
    page.goto(url)
    page.wait_for_selector(".lo-player[data-drawn='1']", timeout=60_000)
    page.wait_for_function("window.player && window.player.charts() > 0", timeout=60_000)
    return page, watch


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None
