"""Predict-then-reveal questions. Every answer and every number in the feedback is computed from
the simulation (so the text can never contradict the model); the words live in
assets/story/questions/<id>.md, with ${name} placeholders filled here.

Question file sections: `## prompt`, `## options` (lines `- key: label`), `## right`, `## wrong`,
`## why`. The feedback for a choice is: right/wrong verdict, what the model says about the chosen
option (computed), then the explanation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Callable

import sim
from sim.architecture import feature_roles

QUESTION_DIR = Path(__file__).resolve().parent.parent / "assets" / "story" / "questions"
HOLD_S = 600.0  # "works again" = at least 95 % succeed and stay so for 10 simulated minutes
WORKS = 0.95
Runner = Callable[[sim.Scenario], sim.Timeline]


# ---- small readers of a timeline ------------------------------------------------------------
def pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.0f} %"


def num(x: float | None) -> str:
    return "hidden" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.0f}"


def at(tl: sim.Timeline, metric: str, t_s: float) -> float:
    return tl.metrics[metric][tl.index_at(t_s)]


def flips(tl: sim.Timeline) -> tuple[float | None, float | None]:
    """(first cut, last restore after it) in seconds, or None."""
    fl = tl.scenario.utility_flips()
    cut = next((t for t, on in fl if not on), None)
    restore = next((t for t, on in reversed(fl) if on and cut is not None and t > cut), None)
    return cut, restore


def recovery_s(tl: sim.Timeline, after_s: float, metric: str = "login_success", threshold: float = WORKS,
               hold_s: float = HOLD_S) -> float | None:
    """First time ≥ after_s from which `metric` stays ≥ threshold for hold_s (or to the end)."""
    vals, ts = tl.metrics[metric], tl.t_s
    start = None
    for t, v in zip(ts, vals):
        if t < after_s:
            continue
        ok = v is not None and not (isinstance(v, float) and math.isnan(v)) and v >= threshold
        if ok and start is None:
            start = t
        elif not ok:
            start = None
        if start is not None and t - start >= hold_s:
            return start
    return start  # held until the end of the run (possibly shorter than hold_s)


def features(tl: sim.Timeline) -> list[str]:
    return [n for n, d in tl.graph.nodes(data=True) if d.get("kind") == "feature"]


def first_change(tl: sim.Timeline, node: str, after_s: float = 0.0, states=("degraded", "overloaded", "down")):
    return next((e for e in tl.events if e.node == node and e.t_s >= after_s and e.state in states), None)


def minutes(dt: float | None) -> str:
    return "not within the run" if dt is None else f"{dt / 60:.0f} min"


# ---- the questions ----------------------------------------------------------------------------
@dataclass
class Outcome:
    correct: set[str]
    facts: dict[str, str]
    detail: dict[str, str] = field(default_factory=dict)  # option key → what the model says about it
    options: list[tuple[str, str]] | None = None  # when the options come from the model (features)


def _users_notice(tl: sim.Timeline, run: Runner) -> Outcome:
    cut, _ = flips(tl)
    t = min(cut + 120, tl.t_s[-1])
    s = {k: at(tl, k, t) for k in ("login_success", "upload_success", "feed_success", "watch_success")}
    lt, lt0 = at(tl, "feed_load_time_s", t), at(tl, "feed_load_time_s", 0)
    dark = next((tt for tt, h in zip(tl.t_s, tl.metrics["halls_powered"]) if tt >= cut and h < 1), None)
    if min(s.values()) >= 0.99 and lt <= 1.2 * lt0:
        correct = "nothing"
    elif max(s["login_success"], s["upload_success"], s["feed_success"]) < 0.5:
        correct = "everything"
    else:
        correct = "slow"
    facts = dict(cut=sim.clock(cut), t=sim.clock(t), login=pct(s["login_success"]), upload=pct(s["upload_success"]),
                 feed=pct(s["feed_success"]), watch=pct(s["watch_success"]), load=f"{lt:.2f} s", load0=f"{lt0:.2f} s",
                 ups_min=f"{tl.scenario.ups_minutes:g}", dark=sim.clock(dark) if dark is not None else "never in this run",
                 temp=f"{at(tl, 'hall_temp_c', t):.0f} °C")
    said = (f"At {facts['t']} the model shows logins {facts['login']}, uploads {facts['upload']}, feed "
            f"{facts['feed']}, video plays {facts['watch']}; the feed loads in {facts['load']} (normal {facts['load0']}).")
    return Outcome({correct}, facts, {k: said for k in ("nothing", "everything", "slow")})


def _first_feature(tl: sim.Timeline, run: Runner) -> Outcome:
    first = {n: first_change(tl, n) for n in features(tl)}
    times = [e.t_s for e in first.values() if e]
    earliest = min(times) if times else None
    # Several features fall within the same step: the question asks which one keeps working, which
    # discriminates (if every feature failed, the first to fail is the answer).
    correct = {n for n, e in first.items() if e is None} or {n for n, e in first.items() if e and e.t_s == earliest}
    detail = {}
    for n, e in first.items():
        detail[n] = (f"**{tl.label(n)}** first failed at {sim.clock(e.t_s)} ({e.state}: {e.cause})." if e else
                     f"**{tl.label(n)}** never failed in this run.")
    order = sorted((e.t_s, tl.label(n)) for n, e in first.items() if e)
    facts = dict(
        first=", ".join(tl.label(n) for n, e in first.items() if e and e.t_s == earliest) or "none",
        at=sim.clock(earliest) if earliest is not None else "never",
        order="; ".join(f"{label} at {sim.clock(t)}" for t, label in order),
        never=", ".join(tl.label(n) for n, e in first.items() if not e) or "none",
    )
    return Outcome(correct, facts, detail, options=[(n, tl.label(n)) for n in first])


def _feed_source(tl: sim.Timeline, run: Runner) -> Outcome:
    t0 = next((e.t_s for e in sorted(tl.events, key=lambda e: e.t_s) if e.node in features(tl) and e.state != "up"), 0.0)
    t = min(t0 + 600, tl.t_s[-1])
    ok, pers, rep = at(tl, "feed_success", t), at(tl, "feed_personalization", t), at(tl, "feed_repeat_rate", t)
    correct = "fails" if ok < 0.5 else ("personal" if pers >= 0.5 else "generic")
    facts = dict(t=sim.clock(t), ok=pct(ok), pers=pct(pers), repeat=pct(rep), pool=str(tl.scenario.feed_pool_size),
                 repeat0=pct(at(tl, "feed_repeat_rate", 0)))
    said = (f"At {facts['t']}: {facts['ok']} of feed requests return videos, {facts['pers']} of them personalised, "
            f"and {facts['repeat']} of the videos are ones the viewer has already seen (normally {facts['repeat0']}).")
    return Outcome({correct}, facts, {k: said for k in ("fails", "personal", "generic")})


def _counter_after(tl: sim.Timeline, run: Runner) -> Outcome:
    cut, restore = flips(tl)
    disp, true = tl.metrics["views_displayed"], tl.metrics["views_true"]
    shown = [v for v in disp if v is not None and not (isinstance(v, float) and math.isnan(v))]
    counter = feature_roles(tl.graph).get("view_counter")
    back = next((e.t_s for e in tl.events if e.node == counter and e.state == "up" and e.t_s > (cut or 0)), None)
    caught = next((m.t_s for m in tl.milestones if m.label == "Counters caught up"), None)
    d_end, t_end = disp[-1], true[-1]
    if d_end is not None and not math.isnan(d_end) and abs(d_end - t_end) <= 0.01 * t_end:
        correct = "true_total"
    elif d_end is None or math.isnan(d_end) or d_end < 1:
        correct = "zero"
    else:
        correct = "before"
    facts = dict(start=num(true[0]), at_cut=num(at(tl, "views_true", cut or 0)), low=num(min(shown) if shown else None),
                 end_true=num(t_end), end_shown=num(d_end), back=sim.clock(back) if back else "not within the run",
                 caught=sim.clock(caught) if caught else "not within the run",
                 backlog=num(max(tl.metrics["backlog_events"])), gained=num(t_end - at(tl, "views_true", cut or 0)))
    said = (f"The creator's counter fell as low as {facts['low']} while the real count kept rising; at the end of the "
            f"run the app shows {facts['end_shown']} and the true count is {facts['end_true']}.")
    return Outcome({correct}, facts, {k: said for k in ("before", "zero", "true_total")})


def _bucket(dt: float | None) -> str:
    if dt is None or dt > 3600:
        return "over_hour"
    if dt <= 300:
        return "at_once"
    return "under_30" if dt <= 1800 else "under_60"


def _login_after_power(tl: sim.Timeline, run: Runner) -> Outcome:
    _, restore = flips(tl)
    back = recovery_s(tl, restore)
    dt = back - restore if back is not None else None
    powered = next((t for t, h in zip(tl.t_s, tl.metrics["halls_powered"]) if t >= restore and h >= 1), None)
    infra = [e.t_s for e in tl.events if e.state == "up" and e.t_s >= restore and (back is None or e.t_s < back)
             and tl.graph.nodes[e.node].get("kind") not in ("feature", "service", "edge")]
    amp = max((a for t, a in zip(tl.t_s, tl.metrics["retry_amplification"]) if t >= restore), default=1.0)
    facts = dict(restore=sim.clock(restore), back=sim.clock(back) if back is not None else "not within the run",
                 wait=minutes(dt), powered=sim.clock(powered) if powered is not None else "never",
                 infra=sim.clock(max(infra)) if infra else sim.clock(restore), amp=f"×{amp:.1f}",
                 login_mid=pct(at(tl, "login_success", restore + 1800)))
    said = (f"Power returned at {facts['restore']}; logins worked again (≥ 95 % succeed for 10 minutes) at "
            f"{facts['back']} — {facts['wait']} later.")
    return Outcome({_bucket(dt)}, facts, {k: said for k in ("at_once", "under_30", "under_60", "over_hour")})


def _what_brought_back(tl: sim.Timeline, run: Runner) -> Outcome:
    _, restore = flips(tl)
    back = recovery_s(tl, restore)
    s = tl.scenario
    shed = s.shed_load_min * 60 if (s.shed_load_min is not None and not s.load_shedding) else None
    no_shed = run(s.replace(shed_load_min=None)) if shed is not None else tl
    back_ns = recovery_s(no_shed, restore)
    infra = [e.t_s for e in tl.events if e.state == "up" and e.t_s >= restore and (back is None or e.t_s < back)
             and tl.graph.nodes[e.node].get("kind") not in ("feature", "service", "edge")]
    last_up = max(infra) if infra else restore
    if shed is not None and back is not None and abs(back - shed) <= 300 and (back_ns is None or back_ns > back + 600):
        correct = "shedding"
    elif back is not None and back - last_up <= 300:
        correct = "boot"
    elif back_ns is not None:
        correct = "storm_ends"
    else:
        correct = "caches"
    facts = dict(restore=sim.clock(restore), back=sim.clock(back) if back is not None else "not within the run",
                 last_up=sim.clock(last_up), shed=sim.clock(shed) if shed is not None else "never",
                 back_ns=sim.clock(back_ns) if back_ns is not None else "not within the run",
                 end=sim.clock(tl.t_s[-1]), login_end_ns=pct(no_shed.metrics["login_success"][-1]),
                 amp_ns=f"×{no_shed.metrics['retry_amplification'][-1]:.1f}")
    caches = [e.t_s for e in tl.events if e.state == "up" and e.t_s >= restore
              and tl.graph.nodes[e.node].get("kind") == "cache"]
    ns_line = (f"logins work again at {facts['back_ns']}" if back_ns is not None else
               f"logins do not work again before the run ends at {facts['end']}")
    facts["without_shedding"] = ns_line
    detail = {
        "boot": f"Every server was back up by {facts['last_up']}, yet logins only worked again at {facts['back']}.",
        "caches": (f"The caches were warm again by {sim.clock(max(caches)) if caches else facts['restore']} — the "
                   f"databases behind them answer — yet without load shedding {ns_line} "
                   f"({facts['login_end_ns']} succeed at the end)."),
        "shedding": f"Operators turned on load shedding at {facts['shed']}; logins worked again at {facts['back']}.",
        "storm_ends": (f"Run again without load shedding: {ns_line}; at {facts['end']} "
                       f"{facts['login_end_ns']} succeed and retries still multiply the load {facts['amp_ns']}."),
    }
    return Outcome({correct}, facts, detail)


CHANGES: dict[str, tuple[str, dict]] = {
    "backoff": ("Retry with capped exponential backoff and jitter", dict(retry_policy="backoff")),
    "budget": ("A retry budget (retries ≤ 10 % of successes)", dict(retry_policy="budget")),
    "shedding": ("Load shedding switched on from the start", dict(load_shedding=True, shed_load_min=None)),
    "breaker": ("Circuit breakers on every call", dict(circuit_breaker=True)),
    "headroom": ("A secondary site with full spare capacity", dict(failover_headroom=1.0)),
}
TIE_S = 120.0  # results within two simulated minutes of the best count as equally good


def _best_change(tl: sim.Timeline, run: Runner) -> Outcome:
    base = sim.PRESETS[sim.DEFAULT_PRESET].scenario
    _, restore = flips(run(base))
    results = {}
    for key, (_, changes) in CHANGES.items():
        v = run(base.replace(**changes))
        back = recovery_s(v, restore)
        results[key] = None if back is None else back - restore
    base_dt = recovery_s(run(base), restore)
    base_dt = None if base_dt is None else base_dt - restore
    finite = [d for d in results.values() if d is not None]
    best = min(finite) if finite else None
    shed = base.shed_load_min
    waits = (f" — no sooner than without it: logins wait for the operators' load shedding at "
             f"{sim.clock(shed * 60)}" if shed is not None else "")

    def said(d: float | None) -> str:
        if d is None:
            return "logins **do not work again** within the run"
        same = base_dt is not None and d >= base_dt - TIE_S
        return f"logins work again **{minutes(d)}** after power returns" + (waits if same else "")

    table = "\n".join(f"- {CHANGES[k][0]}: {said(d)}"
                      for k, d in sorted(results.items(), key=lambda kv: (kv[1] is None, kv[1] or 0)))
    correct = {k for k, d in results.items() if d is not None and best is not None and d <= best + TIE_S}
    facts = dict(table=table, base=minutes(base_dt), best=", ".join(CHANGES[k][0].lower() for k in sorted(correct)))
    detail = {k: f"With **{CHANGES[k][0].lower()}**, {said(d)}." for k, d in results.items()}
    return Outcome(correct, facts, detail)


@dataclass(frozen=True)
class Question:
    id: str
    compute: Callable[[sim.Timeline, Runner], Outcome]

    @property
    def sections(self) -> dict[str, str]:
        text = (QUESTION_DIR / f"{self.id}.md").read_text(encoding="utf-8")
        parts = re.split(r"^## +(\w+)\s*$", text, flags=re.M)
        return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}

    def prompt(self, outcome: Outcome | None = None) -> str:
        """The question, with facts that lie in the reader's past filled in (e.g. the restore time)."""
        facts = {k: _md(v) for k, v in outcome.facts.items()} if outcome is not None else {}
        return Template(self.sections["prompt"]).safe_substitute(facts)

    def options(self, outcome: Outcome | None = None) -> list[tuple[str, str]]:
        """(key, label) pairs; labels may use the outcome's facts that lie in the reader's past."""
        if outcome is not None and outcome.options is not None:
            return outcome.options
        facts = outcome.facts if outcome is not None else {}
        out = []
        for line in self.sections.get("options", "").splitlines():
            key, _, label = line.lstrip("- ").partition(":")
            if label.strip():
                out.append((key.strip(), Template(label.strip()).safe_substitute(facts)))
        return out


QUESTIONS: dict[str, Question] = {q.id: q for q in (
    Question("users_notice", _users_notice),
    Question("first_feature", _first_feature),
    Question("feed_source", _feed_source),
    Question("counter_after", _counter_after),
    Question("login_after_power", _login_after_power),
    Question("what_brought_back", _what_brought_back),
    Question("best_change", _best_change),
)}


def _md(value: str) -> str:
    """Plain text → safe inside Streamlit Markdown ('$' would start LaTeX)."""
    return str(value).replace("$", "\\$")


def feedback(question: Question, outcome: Outcome, choice: str) -> tuple[bool, str]:
    """(is the prediction right?, the Markdown feedback for that choice)."""
    s = question.sections
    labels = dict(question.options(outcome))
    right = choice in outcome.correct
    facts = {k: _md(v) for k, v in outcome.facts.items()}
    facts.update(chosen=_md(labels.get(choice, choice)),
                 answer=_md(" / ".join(labels.get(k, k) for k in sorted(outcome.correct))))
    verdict = Template(s["right" if right else "wrong"]).safe_substitute(facts)
    said = _md(outcome.detail.get(choice, ""))
    why = Template(s.get("why", "")).safe_substitute(facts)
    return right, "\n\n".join(p for p in (verdict, said, why) if p)
