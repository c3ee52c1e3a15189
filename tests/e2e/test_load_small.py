"""The load script at small scale against the session's server: a few visitors at once, each with a
correct result of its own. Behaviour only — timings are the benchmark's business (benchmarks/load.py).

Each visitor flips the power switch at its own paused moment; the script checks, per visitor, that
its timeline shows harm only from its own cut (nothing down before it, something down after it),
that the run acknowledges its own click, that its switch shows "off", and that no page error or
traceback appeared. Visitors are aligned by barriers, so their opens, flips and preset picks reach
the server together.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.browser_helpers import ROOT


def run_load(app_url: str, client: str, sessions: int, out) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--url", app_url, "--client", client,
           "--sessions", str(sessions), "--singles", "0", "--browser-singles", "0", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    bad = [(v["index"], v["problems"]) for v in result["crowd"] if not v["ok"]]
    assert not bad, bad
    assert result["warm_ok"], result["warm_problems"]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return result


@pytest.mark.parametrize("client, sessions", [("browser", 3), ("ws", 4)])
def test_concurrent_visitors_each_get_their_own_correct_result(browser, app_url, tmp_path, client, sessions):
    # `browser` only for its skip/fail rule: the script drives its own Chromium.
    result = run_load(app_url, client, sessions, tmp_path / "load.json")
    crowd = result["crowd"]
    assert len(crowd) == sessions
    assert len({v["flip_at_s"] for v in crowd}) == sessions          # a different cut moment each
    for v in crowd:                                                  # every phase completed
        assert v["open_s"] and v["flip_s"] and v["preset_s"], v
        if client == "browser":
            assert v["play_s"], v
