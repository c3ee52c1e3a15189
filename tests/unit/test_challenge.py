"""Challenge mode (issue 13): the card's figures are the timeline's, and the best plan is found by the
model — a search over action timings — not typed in."""

from __future__ import annotations

import math

import pytest

import sim
from sim import challenge


def _harm_by_hand(tl: sim.Timeline) -> dict[str, float]:
    out = {}
    for n, d in tl.graph.nodes(data=True):
        if d["kind"] != "feature":
            continue
        bad = 0
        for k, t in enumerate(tl.t_s):
            if k == 0 or t <= challenge.START_MIN * 60:
                continue
            pers = tl.metrics["feed_personalization"][k] if d.get("role") == "feed" else math.nan
            if tl.metrics[f"success_{n}"][k] < 0.95 or (pers == pers and pers < 0.90):
                bad += 1
        out[d["label"]] = round(bad * tl.scenario.step_s / 60, 2)
    return out


def test_the_cards_figures_are_the_timelines():
    plan = sim.operator.act(challenge.SCENARIO, "Shed load", 85, True)
    tl = sim.run(plan)
    card = challenge.card(tl)
    assert card.harm_min == _harm_by_hand(tl)
    assert card.total_min == pytest.approx(sum(card.harm_min.values()))
    assert card.events_lost == 0.0
    assert [a["name"] for a in card.actions] == ["Shed load"] and card.actions[0]["t"] == 85 * 60
    nothing = challenge.card(sim.run(challenge.SCENARIO))
    # doing nothing: every feature but watching (the CDN) stays affected from 1:15 to the end
    assert nothing.harm_min["Log in"] == 180 - 75
    assert card.total_min < nothing.total_min / 3


def test_the_best_plan_is_the_models_best_over_the_candidates(monkeypatch):
    """A small search (two moments, one action) against every candidate run from minute 0, without
    checkpoints: the search finds the same best plan and figures."""
    monkeypatch.setattr(challenge, "TIMES_MIN", (75.0, 90.0))
    found = challenge.search(budget=1)
    assert found.complete and found.tried > 5
    nothing = sim.run(challenge.SCENARIO)
    scored = []
    for cost, s in challenge.candidates(challenge.SCENARIO, nothing, sim.default_architecture(), challenge.START_MIN):
        if cost <= 1:
            scored.append((challenge.score(challenge.card(sim.run(s))), s))
    best_score, best = min(scored, key=lambda x: x[0])
    assert found.tried == len(scored)
    assert challenge.score(found.card) == pytest.approx(best_score)
    assert found.card == challenge.card(sim.run(found.best))
    assert found.card.total_min < challenge.card(nothing).total_min


def test_plans_read_back_from_text():
    c = challenge.card(sim.run(sim.operator.act(
        sim.operator.act(challenge.SCENARIO, "Add capacity", 80, 3, "auth"), "Block traffic / let it back in", 90, 0)))
    assert challenge.plan_text(c) == "Add capacity (Auth service ×3) at 1:20; Block traffic at 1:30"
