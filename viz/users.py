"""What users see: the app as a phone shows it, step by step, in words (the Explainer's panel).

Why words from the metrics: the panel must match the model at every frame and be readable by a screen
reader, so each line is made from the run's own numbers (the same columns the CSV export has) and
sent as keyframes — a new row only when a line's words change.
"""

from __future__ import annotations

import math
from typing import Any

import sim

WORKS = 0.95      # as sim.simulation.HEALTHY_SUCCESS: a feature users act on works
FAILS = 0.5       # below this share, most attempts fail


def _ok(x: float) -> bool:
    return x == x and x >= WORKS


def _share_line(label: str, x: float, failing: str) -> list[str]:
    if x != x:
        return [label, "–", "not in this app"]
    if x >= WORKS:
        return [label, "✓", f"works ({x:.0%} succeed)"]
    if x < FAILS:
        return [label, "✕", f"{failing} ({x:.0%} succeed)"]
    return [label, "!", f"often fails ({x:.0%} succeed)"]


def _count(x: float, money: bool = False) -> str:
    if x != x:
        return "hidden"
    return f"${x:,.2f}" if money else f"{x:,.0f}"


def lines_at(tl: sim.Timeline, k: int) -> list[list[str]]:
    """The panel's lines at step k: [label, mark, words] (mark ✓ works, ✕ fails, ! partly, – absent)."""
    m = tl.metrics
    roles = sim.architecture.feature_roles(tl.graph)
    if not {"login", "upload", "feed"} & set(roles):
        out = []
        for n, d in tl.graph.nodes(data=True):
            if d["kind"] == "feature":
                out.append(_share_line(str(d.get("label", n)), m[f"success_{n}"][k], "fails"))
        return out
    val = lambda name: m[name][k] if name in m else math.nan  # noqa: E731
    out = [_share_line("Log in", val("login_success"), "fails: “Something went wrong”"),
           _share_line("Upload a video", val("upload_success"), "spins, then times out")]
    feed_ok, pers, rep = val("feed_success"), val("feed_personalization"), val("feed_repeat_rate")
    if feed_ok != feed_ok:
        out.append(["For You feed", "–", "not in this app"])
    elif feed_ok < FAILS:
        out.append(["For You feed", "✕", f"does not load ({feed_ok:.0%} load)"])
    elif pers == pers and pers >= 0.9:
        out.append(["For You feed", "✓", f"personalised ({pers:.0%}), {rep:.0%} repeats"])
    else:
        share = 0.0 if pers != pers else pers
        out.append(["For You feed", "!", f"generic: {share:.0%} personalised, {rep:.0%} repeats"])
    return out


def users_view(tl: sim.Timeline) -> dict[str, Any]:
    """{"frames": [[t_s, lines], …]} — a row whenever a line's words change (the player shows the last
    row at or before its time) — and the creator's counts per step, shown and true, which the player
    writes as "shows 0; really 12,345" (numbers change every step: sent as numbers, not words)."""
    frames: list[list[Any]] = []
    last = None
    for k, t in enumerate(tl.t_s):
        lines = lines_at(tl, k)
        if lines != last:
            frames.append([float(t), lines])
            last = lines
    out: dict[str, Any] = {"frames": frames}
    m = tl.metrics
    for key, name, money in (("views", "views", False), ("earnings", "earnings", True)):
        true, shown = m.get(f"{name}_true"), m.get(f"{name}_displayed")
        if true and any(x == x for x in true):
            unit = 100 if money else 1         # whole views, whole cents (compact JSON)
            out[key] = {"unit": unit, "shown": [None if x != x else int(round(x * unit)) for x in shown],
                        "true": [math.floor(x * unit + 1e-9) for x in true]}
    return out


__all__ = ["lines_at", "users_view"]
