"""Events → plain-language steps with cause chains, and a summary of what users saw.

One narration serves the CLI story, the player's caption and the text event log, so the words
are the same wherever a learner meets them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .timeline import Timeline, clock

# Order within one moment: causes before effects.
LAYER = {"facility": 0, "infrastructure": 1, "datastore": 2, "cache": 2, "queue": 2,
         "service": 3, "edge": 3, "feature": 4}
MAX_PER_LAYER = 3   # backends or services named per moment; the rest are counted

_FACILITY_WORDS = {
    ("utility", "down"): "utility power lost",
    ("utility", "up"): "utility power restored",
    ("generator", "recovering"): "generators starting",
    ("generator", "down"): "generators fail to start",
    ("ats", "degraded"): "transfer switch has no source",
    ("ups", "degraded"): "UPS on battery",
    ("ups", "down"): "UPS batteries exhausted",
    ("ups", "up"): "UPS back on mains",
    ("cooling", "down"): "cooling stops",
    ("cooling", "recovering"): "chillers restarting",
    ("cooling", "up"): "cooling running again",
}


@dataclass(frozen=True)
class Caption:
    t_s: float
    text: str


def phrase(tl: Timeline, node: str, state: str, cause: str = "") -> str:
    """One event in a few words: 'session store down', 'logins fail'."""
    d = tl.graph.nodes[node]
    label = str(d.get("label", node))
    role = d.get("role")
    if role == "pdu":
        if state == "down":
            return f"{label.replace(' power', '')} {'overheats' if 'overheated' in cause else 'loses power'}"
        return f"{label.replace(' power', '')} powered again" if state == "up" else f"{label} {state}"
    if role == "generator" and state == "up":
        return "generators carry the load" if cause.startswith("carrying") else "generators on standby"
    if role == "ats" and state == "up":
        return "transfer switch on " + ("generators" if "generators" in cause else "utility power")
    if role and (role, state) in _FACILITY_WORDS:
        return _FACILITY_WORDS[(role, state)]
    if d.get("kind") == "feature":
        return {"down": f"{label}: fails", "degraded": f"{label}: degraded",
                "up": f"{label}: works again"}.get(state, f"{label}: {state}")
    words = {"up": "back up", "recovering": "booting" if cause.startswith("booting") else "recovering"}
    return f"{label} {words.get(state, state)}"


def captions(tl: Timeline) -> list[Caption]:
    """One caption per moment that something changed: 'H:MM — cause → effect → …'."""
    layer = {n: LAYER.get(d.get("kind"), 3) for n, d in tl.graph.nodes(data=True)}
    moments: dict[float, list[tuple[int, str]]] = {}
    for e in tl.events:
        key = math.floor(e.t_s / tl.scenario.step_s + 1e-9) * tl.scenario.step_s
        moments.setdefault(key, []).append((layer[e.node], phrase(tl, e.node, e.state, e.cause)))
    for ms in tl.milestones:
        if ms.label in ("Operators shed load", "Recovered", "Counters caught up"):
            key = math.floor(ms.t_s / tl.scenario.step_s + 1e-9) * tl.scenario.step_s
            moments.setdefault(key, []).append((-1 if ms.label.startswith("Operators") else 9, ms.label.lower()))
    out = []
    for t in sorted(moments):
        by_layer: dict[int, list[str]] = {}
        for lay, text in sorted(moments[t], key=lambda x: x[0]):
            if text not in by_layer.setdefault(lay, []):
                by_layer[lay].append(text)
        parts = []
        for lay in sorted(by_layer):
            items = by_layer[lay]
            if lay in (1, 2, 3) and len(items) > MAX_PER_LAYER:
                items = items[:MAX_PER_LAYER] + [f"{len(by_layer[lay]) - MAX_PER_LAYER} more"]
            parts.append(" → ".join(items) if lay <= 0 else ", ".join(items))
        text = " → ".join(parts)
        out.append(Caption(t, f"{clock(t)} — {text[0].upper()}{text[1:]}"))
    return out


def caption_at(caps: list[Caption], t_s: float) -> str:
    """The caption in force at t_s (the last one at or before it)."""
    current = "Everything is running normally."
    for c in caps:
        if c.t_s > t_s:
            break
        current = c.text
    return current


def summary(tl: Timeline) -> list[str]:
    """What users saw, in numbers, and whether anything was lost."""
    m, dt = tl.metrics, tl.scenario.step_s
    minutes = lambda xs, bad: sum(dt for x in xs if bad(x)) / 60.0  # noqa: E731
    lines = [
        f"Logins failing (under 50 % succeed): {minutes(m['login_success'], lambda x: x < 0.5):.0f} min;"
        f" lowest success {min(m['login_success']):.0%}.",
        f"Uploads failing: {minutes(m['upload_success'], lambda x: x < 0.5):.0f} min;"
        f" lowest success {min(m['upload_success']):.0%}.",
        f"Feed generic (under 50 % personalised): {minutes(m['feed_personalization'], lambda x: x < 0.5):.0f} min;"
        f" repeats up to {max(m['feed_repeat_rate']):.0%} of videos.",
        f"Feed load time up to {max(m['feed_load_time_s']):.1f} s (normal {m['feed_load_time_s'][0]:.2f} s).",
    ]
    gaps = [(t - s) for t, s in zip(m["views_true"], m["views_displayed"]) if s == s]
    hidden = sum(1 for s in m["views_displayed"] if s != s)
    low = min((s for s in m["views_displayed"] if s == s), default=float("nan"))
    lines.append(f"Views displayed fell as low as {low:,.0f} while the true count only rose"
                 f" ({m['views_true'][0]:,.0f} → {m['views_true'][-1]:,.0f}); largest gap {max(gaps, default=0):,.0f}"
                 + (f"; hidden for {hidden * dt / 60:.0f} min" if hidden else "") + ".")
    earn_low = min((s for s in m["earnings_displayed"] if s == s), default=float("nan"))
    lines.append(f"Earnings displayed fell as low as ${earn_low:,.2f} (true: ${m['earnings_true'][-1]:,.2f} at the end).")
    lines.append(f"Peak retry amplification ×{max(m['retry_amplification']):.1f};"
                 f" peak backlog {max(m['backlog_events']):,.0f} events in the durable log.")
    restored = [ms.t_s for ms in tl.milestones if ms.label == "Power restored"]
    recovered = [ms.t_s for ms in tl.milestones if ms.label == "Recovered"]
    if restored:
        after = [r for r in recovered if r >= restored[-1]]
        if after:
            lines.append(f"Power returned at {clock(restored[-1])}; users recovered at {clock(after[0])}"
                         f" ({(after[0] - restored[-1]) / 60:.0f} min later).")
        elif recovered and recovered[-1] < restored[-1]:
            lines.append(f"Users recovered at {clock(recovered[-1])}, before power returned at {clock(restored[-1])}.")
        else:
            lines.append(f"Power returned at {clock(restored[-1])}, but users had not recovered by the end"
                         f" ({clock(tl.t_s[-1])}): the failure outlived its trigger.")
    elif any(ms.label == "Power cut" for ms in tl.milestones):
        lines.append("Power was not restored in this run.")
    final_gap = m["views_true"][-1] - (m["views_displayed"][-1] if m["views_displayed"][-1] == m["views_displayed"][-1] else 0)
    if abs(final_gap) < 0.5 and m["backlog_events"][-1] < 1:
        lines.append("At the end displayed equals true: nothing was lost — the durable log kept every event.")
    else:
        shown = m["views_displayed"][-1]
        shown_text = "hidden" if shown != shown else f"{shown:,.0f}"
        lines.append(f"At the end the app still showed {shown_text} views against a true {m['views_true'][-1]:,.0f},"
                     f" with {m['backlog_events'][-1]:,.0f} events waiting in the durable log: kept, not lost.")
    return lines
