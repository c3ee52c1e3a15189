"""Model numbers for the prose: every number a chapter, question or teacher note states about the
model is a `${name}` placeholder in its Markdown, filled here from runs of the presets when the page
is built. Nothing in assets/ types a model result by hand, so the words cannot drift from the model
(tests/unit/test_prose_claims.py renders every text and checks its claims against the runs).

Facts come in groups, each computed by one function from a runner (`sim.run` or a page's cached
runner); `fill(text, run)` computes only the groups the text uses. Pure: no Streamlit.
"""

from __future__ import annotations

import csv
import io
import re
from string import Template
from typing import Callable, Iterable


import sim

from .questions import CHANGES, flips, minutes, pct, recovery_s

Runner = Callable[[sim.Scenario], sim.Timeline]
STORY = sim.DEFAULT_PRESET
LOADS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)   # traffic levels tried for "how much less load recovers"


def _base() -> sim.Scenario:
    return sim.PRESETS[STORY].scenario


def _shed_s(s: sim.Scenario) -> float | None:
    return None if s.shed_load_min is None else s.shed_load_min * 60.0


def _no_shed(s: sim.Scenario) -> sim.Scenario:
    return s.replace(shed_load_min=None)


def _wait(tl: sim.Timeline, restore: float, metric: str = "login_success") -> float | None:
    back = recovery_s(tl, restore, metric)
    return None if back is None else back - restore


# ---- the groups -------------------------------------------------------------------------------
def story(run: Runner) -> dict[str, str]:
    """The story as reported: its inputs (times of the cut, the restore, the operators' step) and
    what users saw."""
    s = _base()
    tl = run(s)
    cut, restore = flips(tl)
    shed = _shed_s(s)
    m = tl.metrics
    back = recovery_s(tl, restore)
    i_shed = tl.index_at(shed - s.step_s) if shed is not None else len(tl.t_s) - 1
    peak = max(m["backlog_events"])
    peak_i = list(m["backlog_events"]).index(peak)
    ns = run(_no_shed(s))
    return {
        "story_hours": f"{s.duration_min / 60:g}",
        "power_out_min": f"{(restore - cut) / 60:.0f}",
        "shed": sim.clock(shed) if shed is not None else "never",
        "shed_after_power": minutes(None if shed is None else shed - restore),
        "login_wait": minutes(None if back is None else back - restore),
        "backlog_peak": f"{peak:,.0f}",
        "backlog_peak_at": sim.clock(tl.t_s[peak_i]),
        "backlog_at_shed": f"{m['backlog_events'][i_shed]:,.0f}",
        "backlog_drained_pct": f"{(1 - m['backlog_events'][i_shed] / peak) * 100:.0f} %" if peak else "—",
        "login_at_shed": pct(m["login_success"][i_shed]),
        "noshed_login_end": pct(ns.metrics["login_success"][-1]),
        "noshed_end": sim.clock(ns.t_s[-1]),
        "noshed_recovers": "yes" if recovery_s(ns, restore) is not None else "no",
    }


def path_of(g, role: str) -> set[str]:
    """Every node a feature (found by its role) reaches through calls made for it."""
    start = [n for n, d in g.nodes(data=True) if d.get("role") == role]
    seen, todo = set(start), list(start)
    while todo:
        n = todo.pop()
        for _, m, d in g.out_edges(n, data=True):
            if d.get("kind") in ("call", "fallback") and (not d.get("features") or start[0] in d["features"]) \
                    and m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def stuck(run: Runner) -> dict[str, str]:
    """Where the sustaining loop is: the story's node metrics one step before operators shed load
    (the stuck state), from a run that keeps per-node numbers."""
    s = _base()
    tl = sim.run(s, node_metrics=True)
    shed = _shed_s(s)
    t = tl.t_s[tl.index_at((shed if shed is not None else tl.t_s[-1]) - s.step_s)]
    rows = {r["node"]: r for r in csv.DictReader(io.StringIO(tl.node_metrics_csv())) if float(r["t_s"]) == t}
    kinds = {n: d["kind"] for n, d in tl.graph.nodes(data=True)}
    front = [n for n in tl.node_ids if kinds[n] == "service" and rows[n]["state"] == "overloaded"]
    caches = [n for n in tl.node_ids if kinds[n] == "cache"]
    login_dbs = [n for n in tl.node_ids if kinds[n] == "datastore" and n in path_of(tl.graph, "login")]
    busiest = max(login_dbs, key=lambda n: float(rows[n]["utilisation"]))
    hot = [n for n in tl.node_ids if kinds[n] == "datastore" and rows[n]["state"] == "overloaded"]
    avg = lambda key, nodes: sum(float(rows[n][key]) for n in nodes) / max(len(nodes), 1)  # noqa: E731
    names = [tl.label(n).replace(" service", "").lower() for n in front]
    return {
        "stuck_at": sim.clock(t),
        "stuck_front": (", ".join(names[:-1]) + " and " + names[-1]) if len(names) > 1 else "".join(names),
        "stuck_front_n": str(len(front)),
        "stuck_load": f"{avg('offered', front):.0f}",
        "stuck_capacity": f"{avg('capacity', front):.1f}",
        "stuck_queue_s": f"{avg('latency_s', front):.0f}",
        "stuck_userdb": f"{float(rows[busiest]['utilisation']) * 100:.0f} %",
        "stuck_login_db": tl.label(busiest).lower(),
        "stuck_hot_dbs": (" and ".join(tl.label(n).lower() for n in hot) or "none"),
        "stuck_caches": "warm again" if all(rows[c]["state"] == "up" for c in caches) else "not all warm yet",
    }


def breakers(run: Runner) -> dict[str, str]:
    """Circuit breakers alone (the story without the operators' load shedding)."""
    s = _base()
    _, restore = flips(run(s))
    tl = run(_no_shed(s).replace(circuit_breaker=True))
    dt = _wait(tl, restore)
    ends = dt is not None
    later = [v for t, v in zip(tl.t_s, tl.metrics["login_success"]) if t >= restore + 600]
    return {
        "breakers_end_storm": "yes" if ends else "no",
        "breakers_alone": (f"end the storm by themselves: without any load shedding, logins work again "
                           f"{minutes(dt)} after the power returns" if ends else
                           f"do not end the storm by themselves: without load shedding, logins flicker back to at "
                           f"most {pct(max(later, default=0.0))} succeeding and fail again, up to the end of the "
                           f"run ({sim.clock(tl.t_s[-1])})"),
    }


def load(run: Runner) -> dict[str, str]:
    """How much less traffic lets the story recover without the operators' step."""
    s = _no_shed(_base())
    _, restore = flips(run(s))
    logins = uploads = None
    for f in LOADS:
        tl = run(s.replace(load=f))
        if logins is None and _wait(tl, restore) is not None:
            logins = f
        if uploads is None and _wait(tl, restore, "upload_success") is not None:
            uploads = f
        if logins is not None and uploads is not None:
            break
    less = lambda f: "more than 70 %" if f is None else f"{(1 - f) * 100:.0f} %"  # noqa: E731
    return {"less_load_logins": less(logins), "less_load_uploads": less(uploads),
            "load_logins": "—" if logins is None else f"{logins:g}", "load_uploads": "—" if uploads is None else f"{uploads:g}"}


def changes(run: Runner) -> dict[str, str]:
    """One change at a time to the story as reported: how long logins take after the power returns."""
    s = _base()
    _, restore = flips(run(s))
    return {f"wait_{k}": minutes(_wait(run(s.replace(**c)), restore)) for k, (_, c) in CHANGES.items()}


GROUPS: dict[str, Callable[[Runner], dict[str, str]]] = {
    "story": story, "stuck": stuck, "breakers": breakers, "load": load, "changes": changes}
# which group provides which name (the names each group returns, listed once here)
NAMES: dict[str, str] = {
    **{n: "story" for n in ("story_hours", "power_out_min", "shed", "shed_after_power", "login_wait", "backlog_peak",
                            "backlog_peak_at", "backlog_at_shed", "backlog_drained_pct", "login_at_shed",
                            "noshed_login_end", "noshed_end", "noshed_recovers")},
    **{n: "stuck" for n in ("stuck_at", "stuck_front", "stuck_front_n", "stuck_load", "stuck_capacity",
                            "stuck_queue_s", "stuck_userdb", "stuck_caches", "stuck_login_db", "stuck_hot_dbs")},
    **{n: "breakers" for n in ("breakers_end_storm", "breakers_alone")},
    **{n: "load" for n in ("less_load_logins", "less_load_uploads", "load_logins", "load_uploads")},
    **{f"wait_{k}": "changes" for k in CHANGES},
}


# ---- filling text -----------------------------------------------------------------------------
def placeholders(text: str) -> set[str]:
    """Every ${name} / $name in a text."""
    return {m.group("named") or m.group("braced") for m in Template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}


def groups_for(texts: Iterable[str]) -> list[str]:
    names = set().union(*(placeholders(t) for t in texts)) if texts else set()
    return sorted({NAMES[n] for n in names if n in NAMES})


def compute(groups: Iterable[str], run: Runner = sim.run,
            cache: Callable[[str, Callable[[], dict[str, str]]], dict[str, str]] | None = None) -> dict[str, str]:
    """The facts of the named groups; `cache(group, make)` lets a page keep them for every visitor."""
    out: dict[str, str] = {}
    for g in groups:
        make = (lambda g=g: GROUPS[g](run))
        out.update(cache(g, make) if cache is not None else make())
    return out


def all_facts(run: Runner = sim.run) -> dict[str, str]:
    return compute(GROUPS, run)


def fill(text: str, facts: dict[str, str], markdown: bool = True) -> str:
    """The text with its placeholders filled ('$' in values escaped for Streamlit's Markdown)."""
    vals = {k: (v.replace("$", "\\$") if markdown else v) for k, v in facts.items()}
    return Template(text).safe_substitute(vals)


def unfilled(text: str) -> list[str]:
    """Placeholders left in a rendered text (a name no group provides)."""
    return sorted(placeholders(re.sub(r"\\\$", "", text)))
