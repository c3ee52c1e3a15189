"""Challenge mode, "Bring it back": the power is back, the app is stuck, and a student has a budget of
operator actions. The outcome is scored from the run — minutes of user harm per feature and events
lost — against doing nothing and against the best plan the model finds by searching action timings.

Why a search and not a typed-in answer: the best plan is whatever the model says it is, so a change to
the model (or a teacher's own architecture) changes the answer with it. The search is greedy — the best
single action at each candidate moment, then the best next one given it, up to the budget — and every
candidate resumes from a checkpoint of the do-nothing run, since all of them share its past.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import networkx as nx

from . import operator
from .architecture import default_architecture, feature_roles
from .checkpoint import Checkpoint
from .engine import run
from .outcomes import events_lost
from .scenario import Scenario
from .simulation import HEALTHY_PERSONALISED, HEALTHY_SUCCESS
from .timeline import Timeline, clock

BUDGET = 3                       # actions a student may take
SCENARIO = Scenario()            # the utility feed fails at 0:15 and returns at 1:15; nobody acts
START_MIN = 75.0                 # the challenge starts when the power is back
TIMES_MIN = (75.0, 80.0, 85.0, 90.0, 100.0, 110.0, 120.0)   # when the search tries actions
BLOCK_FOR_MIN = (5.0, 10.0)      # "Block traffic", then "let it back in" this much later (two actions)
SEARCH_BUDGET_S = 60.0           # the search stops trying new plans after this long (reported)
CHECKPOINT_EVERY = 30            # steps (5 min at 10-s steps): where candidates resume


@dataclass(frozen=True)
class Card:
    """The outcome card's figures, all read from runs."""

    harm_min: dict[str, float]           # feature label → minutes users were affected, from START_MIN
    total_min: float
    events_lost: float | None
    actions: list[dict[str, Any]] = field(default_factory=list)   # sim.operator.taken


@dataclass(frozen=True)
class Search:
    best: Scenario
    card: Card
    tried: int
    seconds: float
    complete: bool                       # False: stopped by SEARCH_BUDGET_S


def harm(tl: Timeline, from_min: float = START_MIN) -> dict[str, float]:
    """Per feature (by label): simulated minutes from `from_min` to the end in which its users were
    affected — fewer than HEALTHY_SUCCESS of requests succeed (for the feed: or fewer than
    HEALTHY_PERSONALISED of feeds are personalised)."""
    g, m = tl.graph, tl.metrics
    feed = feature_roles(g).get("feed")
    step_min = tl.scenario.step_s / 60.0
    out: dict[str, float] = {}
    for n, d in g.nodes(data=True):
        if d["kind"] != "feature":
            continue
        ok = m[f"success_{n}"]
        pers = m["feed_personalization"] if n == feed else None
        bad = 0
        for k, t in enumerate(tl.t_s):
            if t <= from_min * 60.0 + 1e-6 or k == 0:      # the steps after from_min, each step_s long
                continue
            p = pers[k] if pers is not None else math.nan
            if ok[k] < HEALTHY_SUCCESS or (p == p and p < HEALTHY_PERSONALISED):
                bad += 1
        out[str(d.get("label", n))] = round(bad * step_min, 2)
    return out


def card(tl: Timeline) -> Card:
    h = harm(tl)
    lost, _ = events_lost(tl)
    label = lambda n: str(tl.graph.nodes[n].get("label", n)) if n in tl.graph else str(n)  # noqa: E731
    return Card(h, round(sum(h.values()), 2), lost, operator.taken(tl.scenario, label))


def score(c: Card) -> float:
    """Lower is better: minutes of harm summed over features; any event lost outweighs them all."""
    return c.total_min + (1e9 if (c.events_lost or 0.0) > 0 else 0.0)


def candidates(base: Scenario, tl: Timeline, g: nx.DiGraph, after_min: float) -> list[tuple[int, Scenario]]:
    """(actions used, scenario) for one more action (or a block and its let-back-in) at each search time
    from `after_min`. Nodes to scale or fail over: those overloaded or down in `tl` at that moment."""
    out: list[tuple[int, Scenario]] = []
    overloaded_or_down = {2, 3}
    for t in TIMES_MIN:
        if t < after_min:
            continue
        row = tl.node_states[tl.index_at(t * 60.0)]
        stuck = {n for n, code in zip(tl.node_ids, row) if code in overloaded_or_down}
        for a in operator.ACTIONS:
            if a.value == "switch" and not operator.is_on(base, a.label, t):
                out.append((1, operator.act(base, a.label, t, True)))
            elif a.value == "once":
                out.append((1, operator.act(base, a.label, t, True)))
            elif a.value == "node":
                for n in operator.targets(g, a.label):
                    if n in stuck:
                        out.append((1, operator.act(base, a.label, t, 3 if a.kind == "add_capacity" else True, n, g)))
            elif a.value == "share":
                for d in BLOCK_FOR_MIN:
                    blocked = operator.act(base, a.label, t, 0)
                    out.append((2, operator.act(blocked, a.label, t + d, 100)))
    return out


def search(g: nx.DiGraph | None = None, base: Scenario = SCENARIO, budget: int = BUDGET,
           time_budget_s: float = SEARCH_BUDGET_S, progress: Callable[[int], None] | None = None) -> Search:
    """The best plan the model finds within `budget` actions (greedy over TIMES_MIN, see the module)."""
    g = g if g is not None else default_architecture()
    started = time.perf_counter()
    nothing = run(base, g, checkpoint_every=CHECKPOINT_EVERY)
    best_s, best_c, tried, complete = base, card(nothing), 0, True
    frontier: list[tuple[Scenario, Timeline, int, float]] = [(base, nothing, 0, START_MIN)]
    while frontier:
        improved: list[tuple[Scenario, Timeline, int, float]] = []
        for plan, tl, used, after in frontier:
            for cost, s in candidates(plan, tl, g, after):
                if used + cost > budget:
                    continue
                if time.perf_counter() - started > time_budget_s:
                    complete = False
                    break
                got = run(s, g, checkpoint_every=CHECKPOINT_EVERY, resume=_resume(tl, s))
                tried += 1
                if progress:
                    progress(tried)
                c = card(got)
                if score(c) < score(best_c) - 1e-9:
                    best_s, best_c = s, c
                    improved = [(s, got, used + cost, max(a["t"] for a in c.actions) / 60.0)]
        frontier = improved if complete else []
    return Search(best_s, best_c, tried, round(time.perf_counter() - started, 1), complete)


def _resume(tl: Timeline, s: Scenario) -> tuple[Timeline, Checkpoint] | None:
    from .checkpoint import same_past_until  # noqa: PLC0415

    until = same_past_until(tl.scenario, s)
    usable = [c for c in tl.checkpoints if c.t_s < until]
    return (tl, usable[-1]) if usable else None


def plan_text(c: Card) -> str:
    """"Shed load at 1:20; Circuit breakers at 1:25" (or "no action")."""
    if not c.actions:
        return "no action"
    parts = []
    for a in c.actions:
        what = a["name"]
        if a["node_label"]:
            what += f" ({a['node_label']}" + (f" ×{a['value']:g})" if a["name"] == "Add capacity" else ")")
        elif a["name"].startswith("Block"):
            what = "Block traffic" if a["value"] == 0 else f"Let {a['value']:g} % of traffic in"
        parts.append(f"{what} at {clock(a['t'])}")
    return "; ".join(parts)


__all__ = ["BUDGET", "SCENARIO", "START_MIN", "Card", "Search", "card", "harm", "search", "score", "plan_text"]
