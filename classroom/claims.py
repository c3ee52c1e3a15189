"""Claims in the prose, checked against the model (tests/unit/test_prose_claims.py).

`texts()` renders every chapter, preset text, question (prompt, options and the feedback for every
option) and teacher note with the model's numbers filled in; `check(text, truth)` returns what a
text claims that the model (or the sources) contradict. Each rule reads one kind of sentence that
once drifted from the model — breakers and the storm, minutes after the power returns, where the
sustaining loop is, how much less load recovers, facts versus assumptions. Pure: no Streamlit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Callable

import sim

from . import facts as model_facts
from .questions import QUESTIONS, feedback
from .story import load_chapters
from .teaching import NOTES, source, story_facts

ASSETS = Path(__file__).resolve().parent.parent / "assets"
Runner = Callable[[sim.Scenario], sim.Timeline]


@dataclass(frozen=True)
class Truth:
    """What the model (and the scenario's inputs) say, for the rules."""
    breakers_end_storm: bool
    login_waits_min: frozenset[int]       # every "logins back N min after power" a run here gives
    story_wait_min: int | None            # the story as reported: set by the operators' step
    shed_clock: str
    story_hours: float
    power_out_min: float
    less_load_logins_pct: float           # % less traffic the story needs to recover logins by itself
    userdb_util: float                    # the busiest database behind logins, in the stuck state
    caches_warm: bool
    backlog_drained_before_shed: float    # share of the peak backlog replayed before logins returned
    step_s: float
    headroom_shortens: bool = False       # full spare capacity brings logins back sooner than the story


def truth(run: Runner = sim.run) -> Truth:
    f = model_facts.all_facts(run)
    num = lambda s: None if not re.match(r"\d", s) else int(re.match(r"\d+", s).group())  # noqa: E731
    waits = {num(v) for k, v in f.items() if k.startswith("wait_")} | {num(f["login_wait"])}
    s = sim.PRESETS[model_facts.STORY].scenario
    return Truth(
        breakers_end_storm=f["breakers_end_storm"] == "yes",
        login_waits_min=frozenset(w for w in waits if w is not None),
        story_wait_min=num(f["login_wait"]), shed_clock=f["shed"], story_hours=float(f["story_hours"]),
        power_out_min=float(f["power_out_min"]),
        less_load_logins_pct=float(num(f["less_load_logins"]) or 100),
        userdb_util=float(num(f["stuck_userdb"]) or 0) / 100, caches_warm=f["stuck_caches"] == "warm again",
        backlog_drained_before_shed=float(num(f["backlog_drained_pct"]) or 0) / 100, step_s=s.step_s,
        headroom_shortens=(num(f["wait_headroom"]) is not None and num(f["login_wait"]) is not None
                           and num(f["wait_headroom"]) < num(f["login_wait"]) - 2),
    )


# ---- the texts ---------------------------------------------------------------------------------
def texts(run: Runner = sim.run) -> list[tuple[str, str]]:
    """(name, rendered text) for every piece of prose a learner or teacher reads."""
    facts = {**model_facts.all_facts(run), **story_facts(run)}
    fill = lambda t: Template(t).safe_substitute(facts)  # noqa: E731
    out: list[tuple[str, str]] = []
    for ch in load_chapters():
        for part in ("body", "after", "try_this"):
            out.append((f"story/{ch.slug}.{part}", fill(getattr(ch, part))))
        if ch.question:
            q = QUESTIONS[ch.question]
            o = q.compute(run(ch.scenario), run)
            out.append((f"question/{q.id}.prompt", fill(q.prompt(o))))
            for key, label in q.options(o):
                out.append((f"question/{q.id}.option.{key}", label))
                out.append((f"question/{q.id}.feedback.{key}", fill(feedback(q, o, key)[1].replace("\\$", "$"))))
    for name in NOTES:
        out.append((f"teacher/{name}", fill(source(name))))
    for name, preset in sim.PRESETS.items():
        out.append((f"preset/{name}", fill(preset.text)))
    for p in sorted(ASSETS.glob("*.md")):
        if p.name == "faults.md":   # messages about faults, filled by ui.guard, not the model
            continue
        out.append((p.name, fill(p.read_text(encoding="utf-8"))))
    return out


# ---- the rules ---------------------------------------------------------------------------------
def sentences(text: str) -> list[str]:
    """Sentences, roughly: Markdown emphasis and links flattened, split at full stops and blank lines."""
    flat = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    flat = re.sub(r"[*_`]", "", flat)
    out = []
    for para in re.split(r"\n\s*\n|\n(?=\s*[-|#\d])", flat):
        para = " ".join(para.split())
        out += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"“])", para) if s]
    return out


NEG = re.compile(r"\b(not|never|no|n't|cannot)\b|n't\b")


def check(text: str, t: Truth) -> list[str]:
    """What this text claims that the model contradicts (empty when it agrees)."""
    bad: list[str] = []
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", re.sub(r"[*_`]", "", text))]
    for s in sentences(text):
        low = s.lower()
        # circuit breakers and the storm
        m = re.search(r"breakers?\b(.{0,80}?)\b(end|ends|stop|stops|fix|fixes)\b(.{0,30}?)\bstorm", low)
        if m:
            says_end = not NEG.search(m.group(1) + " " + m.group(2))
            if says_end != t.breakers_end_storm:
                bad.append(f"breakers {'end' if says_end else 'do not end'} the storm — the model says the opposite: {s}")
        # "N min after (the) power returns": a number some run here gives; the story's own wait is
        # the operators' scheduled step (an input) and must be said to be one
        for m in re.finditer(r"(\d+)\s*min(?:utes?)? (?:after (?:the )?power|in the model)", low):
            n = int(m.group(1))
            if "logins" in low or "recover" in low or "reveal" in low:
                if all(abs(n - w) > 1 for w in t.login_waits_min):
                    bad.append(f"{n} min after the power returns matches no run of the model: {s}")
                elif t.story_wait_min is not None and abs(n - t.story_wait_min) <= 1 and not re.search(
                        r"shed|operator|input|set by|scheduled", low):
                    bad.append(f"{n} min is the operators' scheduled step (an input), told as a finding: {s}")
        # where the sustaining loop is
        if re.search(r"(buried|swamped) under retries|in front of the databases|database[s]? (is|are|was|were) overloaded", low) \
                and t.userdb_util < 1.0:
            bad.append(f"the loop is placed at the database, which the model runs at {t.userdb_util:.0%}: {s}")
        if re.search(r"(empty|cold) caches? (send|sending|keep|keeps)|caches (restarted|stay) (empty|cold) so", low) \
                and t.caches_warm:
            bad.append(f"cold caches told as the sustaining effect; the model's caches are warm in the stuck state: {s}")
        m = re.search(r"spare capacity[^.]{0,60}?\b(does not|doesn't|do not) (shorten|help|change)", low)
        if m and t.headroom_shortens:
            bad.append(f"full spare capacity does shorten the recovery in the model: {s}")
        # less load recovers
        for m in re.finditer(r"(\d+) % less (?:base )?(?:load|traffic)", low):
            if re.search(r"recover|escape|enough", low) and "osdi" not in low and "experiment" not in low:
                if int(m.group(1)) < t.less_load_logins_pct and not NEG.search(low):
                    bad.append(f"{m.group(1)} % less load does not recover the model (it needs "
                               f"{t.less_load_logins_pct:.0f} %): {s}")
        # the backlog drains once logins work again
        if re.search(r"once logins[^.]*work again,? the backlog drains", low) and t.backlog_drained_before_shed > 0.5:
            bad.append(f"the backlog drains while logins still fail ({t.backlog_drained_before_shed:.0%} before): {s}")
        # times of the story (inputs) said in words
        for m in re.finditer(r"load shedding (?:on )?at (\d+:\d\d)", low):
            if m.group(1) != t.shed_clock:
                bad.append(f"operators shed load at {t.shed_clock}, not {m.group(1)}: {s}")
        m = re.search(r"(?:this one|the story|this run)[^.]{0,30}?\b(an|one|two|three|four|\d+) (?:simulated )?hours?\b", low)
        words = {"an": 1, "one": 1, "two": 2, "three": 3, "four": 4}
        if m and not re.search(r"power (is )?out", low):
            h = words.get(m.group(1)) or float(m.group(1))
            if h != t.story_hours:
                bad.append(f"the story lasts {t.story_hours:g} simulated hours, not {h:g}: {s}")
        m = re.search(r"noise[^.]*?every (\d+) (second|minute)s?", low)
        if m and int(m.group(1)) * (60 if m.group(2) == "minute" else 1) != t.step_s:
            bad.append(f"demand noise is redrawn every step ({t.step_s:g} s): {s}")
        # facts and sources
        if re.search(r"why (the |its |tiktok's )?backup power did not hold", low):
            bad.append(f"presupposes that backup power failed, which no official statement says: {s}")
        if "affected tens of thousands" in low:
            bad.append(f"misquotes the 1 February statement ('impacted tens of thousands of servers'): {s}")
        if re.search(r"ups[^.]*nfpa 110 class|nfpa 110 class[^.]*ups", low):
            bad.append(f"NFPA 110's Class is generator run time; UPS systems are NFPA 111: {s}")
        if "only 0 %" in low or re.search(r"work again:? (at )?not within", low):
            bad.append(f"copy: a number or a 'not' put where a time belongs: {s}")
    for p in paras:
        low = p.lower()
        if low.startswith("what is fact") and re.search(r"failed logins|logging in|generic|repeat", low):
            bad.append(f"user reports listed as fact (they are reported, not official): {p[:120]}")
        if re.search(r"(every|each) view (is|was) (written|kept)", low) and not re.search(r"model|assumption", low):
            bad.append(f"the durable event log is a model assumption, not labelled as one: {p[:120]}")
        if re.search(r"services? (that users talk to )?runs? elsewhere|\"run elsewhere\"", low) and "assumption" not in low:
            bad.append(f"'the servers run elsewhere' is a model assumption, not labelled as one: {p[:120]}")
    return bad
