"""Numbers for the teacher notes and the handout, computed from the model (never typed by hand):
the Markdown in assets/teacher/*.md uses ${name} placeholders filled from `story_facts`."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Callable

import sim

from .questions import CHANGES, flips, minutes, recovery_s

TEACHER_DIR = Path(__file__).resolve().parent.parent / "assets" / "teacher"


def story_facts(run: Callable[[sim.Scenario], sim.Timeline] = sim.run) -> dict[str, str]:
    base = sim.PRESETS[sim.DEFAULT_PRESET].scenario
    tl = run(base)
    cut, restore = flips(tl)
    ms = {m.label: m.t_s for m in tl.milestones}
    back = recovery_s(tl, restore)
    shown = [v for v in tl.metrics["views_displayed"] if v == v and v is not None]
    waits = {}
    for key, (label, changes) in CHANGES.items():
        b = recovery_s(run(base.replace(**changes)), restore)
        waits[key] = minutes(None if b is None else b - restore)
    no_shed = recovery_s(run(base.replace(shed_load_min=None)), restore)
    return {
        "cut": sim.clock(cut), "restore": sim.clock(restore),
        "ups_out": sim.clock(ms.get("UPS exhausted", cut)), "ups_min": f"{base.ups_minutes:g}",
        "login_back": sim.clock(back) if back is not None else "never (within the run)",
        "login_wait": minutes(None if back is None else back - restore),
        "outage_min": f"{(restore - cut) / 60:.0f}",
        "views_start": f"{tl.metrics['views_true'][0]:,.0f}", "views_low": f"{min(shown):,.0f}" if shown else "hidden",
        "views_end": f"{tl.metrics['views_true'][-1]:,.0f}",
        "amp": f"×{max(tl.metrics['retry_amplification']):.1f}", "backlog": f"{max(tl.metrics['backlog_events']):,.0f}",
        "no_shed": minutes(None if no_shed is None else no_shed - restore),
        "repeat": f"{max(tl.metrics['feed_repeat_rate']) * 100:.0f} %",
        **{f"wait_{k}": v for k, v in waits.items()},
    }


NOTES = ("objectives", "lesson_15", "lesson_45", "discussion", "misconceptions", "handout")


def source(name: str) -> str:
    return (TEACHER_DIR / f"{name}.md").read_text(encoding="utf-8")


def render(name: str, facts: dict[str, str]) -> str:
    """assets/teacher/<name>.md with the model's numbers filled in (escape '$' in `facts` for Streamlit)."""
    return Template(source(name)).safe_substitute(facts)


def all_facts(run: Callable[[sim.Scenario], sim.Timeline] = sim.run, cache=None) -> dict[str, str]:
    """Every number the teacher notes name: the story's (`story_facts`) and classroom.facts' groups."""
    from . import facts as model_facts

    groups = model_facts.groups_for([source(n) for n in NOTES])
    return {**model_facts.compute(groups, run, cache), **story_facts(run)}
