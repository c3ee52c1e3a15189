"""Events → plain-language steps with cause chains, and a summary of what users saw.

One narration serves the CLI story, the player's caption and the text event log, so the words
are the same wherever a learner meets them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .architecture import feature_roles
from .mechanisms import DEADLINE_TIMEOUTS
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
    for ms in tl.milestones:   # scheduled changes (operators' actions, faults) first: they are causes
        if ms.action or ms.label in ("Recovered", "Counters caught up"):
            key = math.floor(ms.t_s / tl.scenario.step_s + 1e-9) * tl.scenario.step_s
            text = ms.label if ms.action else ms.label.lower()
            moments.setdefault(key, []).append((-1 if ms.action else 9, text))
    # Why users are still affected (sim.diagnosis), refreshed every few minutes while they are.
    causes = {}
    for t_c, text in tl.extras.get("causes", []):
        key = math.floor(t_c / tl.scenario.step_s + 1e-9) * tl.scenario.step_s
        causes[key] = text
        moments.setdefault(key, [])
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
        if t in causes:
            text = f"{text}. {causes[t]}" if text else causes[t]
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
    """What users saw, in numbers, and whether anything was lost — only harm that happened.

    "Recovered" and "power back" mean what they mean in sim.outcomes (the same numbers as the
    outcome table): users healthy from then to the end; every hall powered again.
    """
    from .outcomes import LOGIN_OUTAGE_BELOW, outcome  # noqa: PLC0415 — outcomes imports the engine

    m, dt = tl.metrics, tl.scenario.step_s
    o = outcome(tl)
    roles = feature_roles(tl.graph)
    lines: list[str] = []

    def minutes(xs: list[float], bad) -> float:
        return sum(dt for x in xs if x == x and bad(x)) / 60.0

    for role, what in (("login", "Logins"), ("upload", "Uploads")):
        if role in roles:
            xs = m[f"{role}_success"]
            down, low = minutes(xs, lambda x: x < LOGIN_OUTAGE_BELOW), min(xs)
            if low < 0.95:
                lines.append(f"{what} failing (under 50 % succeed): {down:.0f} min; lowest success {low:.0%}.")
    if "feed" in roles:
        generic = minutes(m["feed_personalization"], lambda x: x < 0.5)
        if min(m["feed_personalization"]) < 0.9:
            lines.append(f"Feed generic (under 50 % personalised): {generic:.0f} min;"
                         f" repeats up to {max(m['feed_repeat_rate']):.0%} of videos.")
        slow, normal = max(m["feed_load_time_s"]), m["feed_load_time_s"][0]
        if slow > 2 * normal:
            lines.append(f"Feed load time up to {slow:.1f} s (normal {normal:.2f} s).")
    others = [f for f, _ in o.feature_outage_min if f not in {roles.get(r) for r in ("login", "upload", "feed")}]
    for f, mins in o.feature_outage_min:
        if f in others and mins > 0 and not (roles.get("view_counter") == f or roles.get("earnings") == f):
            lines.append(f"{tl.label(f)} failing (under 50 % succeed): {mins:.0f} min;"
                         f" lowest success {min(m[f'success_{f}']):.0%}.")
    shown = [s for s in m["views_displayed"] if s == s]
    if "view_counter" in roles and o.max_counter_gap_views >= 1:
        hidden = sum(1 for s in m["views_displayed"] if s != s)
        low = min(shown, default=float("nan"))
        fell = (f"Views displayed fell as low as {low:,.0f} while the true count only rose"
                if low < m["views_true"][0] else "Views displayed lagged behind the true count, which only rose")
        lines.append(f"{fell} ({m['views_true'][0]:,.0f} → {m['views_true'][-1]:,.0f});"
                     f" largest gap {o.max_counter_gap_views:,.0f}" + (f"; hidden for {hidden * dt / 60:.0f} min" if hidden else "") + ".")
    if "earnings" in roles:
        earn = [s for s in m["earnings_displayed"] if s == s]
        gap = max((t - s for t, s in zip(m["earnings_true"], m["earnings_displayed"]) if s == s), default=0.0)
        if earn and gap >= 0.01 and min(earn) < m["earnings_true"][0]:
            lines.append(f"Earnings displayed fell as low as ${min(earn):,.2f} (true: ${m['earnings_true'][-1]:,.2f} at the end).")
    amp, backlog = max(m["retry_amplification"]), max(m["backlog_events"])
    if amp > 1.05 and backlog >= 1:
        lines.append(f"Peak retry amplification ×{amp:.1f}; peak backlog {backlog:,.0f} events in the durable log.")
    elif amp > 1.05:
        lines.append(f"Peak retry amplification ×{amp:.1f}.")
    elif backlog >= 1:
        lines.append(f"Peak backlog {backlog:,.0f} events in the durable log.")
    lines += _retry_note(tl)
    lines.append(_recovery_line(tl, o))
    if o.events_lost == 0:
        if o.events_checked_s == o.end_s and m["backlog_events"][-1] < 1:
            lines.append("At the end displayed equals true: nothing was lost — the durable log kept every event.")
        elif o.events_checked_s == o.end_s:
            lines.append(f"Nothing was lost: every event was applied or is waiting in the durable log"
                         f" ({m['backlog_events'][-1]:,.0f} waiting at the end).")
        else:
            lines.append(f"Nothing was lost as far as the counter shows: when it could last be read"
                         f" ({clock(o.events_checked_s or 0.0)}), every event was applied or waiting in the durable log.")
    elif o.events_lost is not None:
        lines.append(f"{o.events_lost:,.0f} events are missing from the counters and the durable log.")
    if o.recovered_s == 0.0 and not any("failing" in x or "generic" in x for x in lines):
        lines.insert(0, "Users saw no failure in this run.")
    return lines


def _recovery_line(tl: Timeline, o) -> str:
    cut = any(not on for _, on in tl.scenario.utility_flips()) or o.halls_lost_power
    harmed = not (o.recovered_s == 0.0)
    if not harmed:
        if cut and not o.halls_lost_power:
            return "The halls kept their power throughout (UPS and generators); users stayed healthy."
        return "Users stayed healthy throughout."
    if not cut:
        end = o.trigger_over_s
        if end is None:
            return ("A fault lasted to the end of the run; users " +
                    (f"recovered at {clock(o.recovered_s)} all the same." if o.recovered else "had not recovered."))
        if o.recovered and o.recovered_s is not None:
            return (f"The last fault was over at {clock(end)}; users recovered at {clock(o.recovered_s)}"
                    f" ({o.recover_after_trigger_min:.0f} min later).")
        return (f"The last fault was over at {clock(end)}, but users had not recovered by the end"
                f" ({clock(o.end_s)}): the failure outlived its trigger.")
    if o.power_back_s is None:
        return ("Power was not back at the servers by the end of the run"
                + (f"; users had not recovered by {clock(o.end_s)}." if not o.recovered else "."))
    where = ("Power was back at the servers" if o.halls_lost_power
             else "The halls never lost power; the utility feed returned")
    if o.recovered and o.recovered_s is not None and o.recovered_s <= o.power_back_s:
        return f"{where} at {clock(o.power_back_s)}; users had recovered before that, at {clock(o.recovered_s)}."
    if o.recovered and o.recovered_s is not None:
        return (f"{where} at {clock(o.power_back_s)}; users recovered at {clock(o.recovered_s)}"
                f" ({o.recover_after_power_min:.0f} min later).")
    return (f"{where} at {clock(o.power_back_s)}, but users had not recovered by the end ({clock(o.end_s)}):"
            " the failure outlived its trigger.")


def _retry_note(tl: Timeline) -> list[str]:
    """Say when the retry deadline, not max_retries, limited the attempts (no silent cap)."""
    s = tl.scenario
    if s.retry_policy == "none" or s.max_retries + 1 <= DEADLINE_TIMEOUTS:
        return []
    fit = [a for a in tl.metrics.get("retry_attempts_fit", []) if a == a]
    if not fit or min(fit) >= s.max_retries + 1:
        return []
    return [f"Retries: max_retries={s.max_retries} allows {s.max_retries + 1} attempts per call, but each call"
            f" gives up after {DEADLINE_TIMEOUTS:g} timeouts: while attempts timed out only"
            f" {min(fit):.1f} fit (fast failures leave room for more)."]
