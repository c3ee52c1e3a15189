"""Words that match the model (issue 14): every chapter, preset text, question (with the feedback for
every option) and teacher note is rendered with the model's numbers, and each claim the rules of
classroom.claims can read is checked against runs of the model. The second half shows the rules
fail on the sentences that once drifted (and would again)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

import sim
from classroom import claims, facts

ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def run(scenario: sim.Scenario) -> sim.Timeline:
    return sim.run(scenario)


@pytest.fixture(scope="module")
def truth() -> claims.Truth:
    return claims.truth(run)


@pytest.fixture(scope="module")
def rendered() -> list[tuple[str, str]]:
    return claims.texts(run)


def test_every_text_is_rendered(rendered):
    names = {n for n, _ in rendered}
    assert {f"story/{p.stem}.body" for p in (ROOT / "assets" / "story").glob("[0-9][0-9]_*.md")} <= names
    assert {f"preset/{n}" for n in sim.PRESETS} <= names
    assert {f"teacher/{n}" for n in ("discussion", "lesson_15", "lesson_45", "misconceptions", "handout")} <= names
    assert {n.split(".")[0] for n in names if n.startswith("question/")} == {
        f"question/{p.stem}" for p in (ROOT / "assets" / "story" / "questions").glob("*.md")}


def test_no_placeholder_is_left(rendered):
    left = {name: facts.unfilled(text) for name, text in rendered if facts.unfilled(text)}
    assert not left, left


def test_every_claim_agrees_with_the_model(rendered, truth):
    problems = [f"{name}: {p}" for name, text in rendered for p in claims.check(text, truth)]
    assert not problems, "\n".join(problems)


def test_no_model_result_typed_by_hand():
    """Minutes after the power returns, percentages of logins and the like are placeholders."""
    typed = re.compile(r"\b\d+\s*min(?:utes)? after (?:the )?power|\b\d+ % of logins")
    hits = [(p.relative_to(ROOT).as_posix(), m.group()) for p in (ROOT / "assets").rglob("*.md")
            for m in typed.finditer(p.read_text(encoding="utf-8"))]
    assert not hits, hits


# ---- the rules can fail -------------------------------------------------------------------------
WRONG = [
    "In the model logins work again 33 min after power returns.",
    "Reveal: 75 min in the model.",
    "Which ones matter most depends on where the sustaining effect lives — here, retries and queues in front of the databases.",
    "Every client retried, and empty caches sending every request to the database kept it down.",
    "Set load = 0.7: in this model 30 % less load is enough to recover.",
    "Once logins and the feed work again, the backlog drains.",
    "In the story operators switch on load shedding at 1:45.",
    "Time is compressed: the real outage lasted days, this one an hour.",
    "| demand noise | ±2 %, changing every 5 minutes, seeded |",
    "Nobody has said why the backup power did not hold.",
    "A winter storm affected tens of thousands of servers.",
    "UPS ride-through: up to 5 minutes (NFPA 110 Class 0.083).",
    "Half an hour after the power returned only 0 % of logins succeeded.",
    "Without shedding, logins work again: not within the run.",
    "**What is fact.** A power outage led to failed logins and a generic For You feed.",
    "Every view was written to a durable event log.",
    "The services that users talk to run elsewhere and stay powered.",
]


@pytest.mark.parametrize("sentence", WRONG)
def test_a_wrong_sentence_fails(sentence, truth):
    assert claims.check(sentence, truth), sentence


def test_the_breaker_rule_follows_the_model(truth):
    """The same sentence passes or fails depending on what the model says."""
    ends = "Circuit breakers alone end the storm."
    does_not = "Circuit breakers alone do not end the storm."
    assert bool(claims.check(ends, truth)) == (not truth.breakers_end_storm)
    assert bool(claims.check(does_not, truth)) == truth.breakers_end_storm
    flipped = claims.Truth(**{**truth.__dict__, "breakers_end_storm": not truth.breakers_end_storm})
    assert bool(claims.check(ends, flipped)) == truth.breakers_end_storm


def test_the_spare_capacity_rule_follows_the_model(truth):
    said = "Spare capacity at the secondary site does not shorten the storm after the power returns."
    assert not claims.check(said, truth) if not truth.headroom_shortens else claims.check(said, truth)
    flipped = claims.Truth(**{**truth.__dict__, "headroom_shortens": not truth.headroom_shortens})
    assert bool(claims.check(said, flipped)) == flipped.headroom_shortens


def test_breakers_alone_in_the_model():
    """What the prose says about breakers is computed: check it against a run with breakers on and
    no operators' load shedding."""
    from classroom.questions import flips, recovery_s

    base = sim.PRESETS["as_reported"].scenario
    _, restore = flips(run(base))
    tl = run(base.replace(shed_load_min=None, circuit_breaker=True))
    back = recovery_s(tl, restore)
    said = facts.breakers(run)
    assert said["breakers_end_storm"] == ("no" if back is None else "yes")
    assert said["breakers_alone"].startswith("do not end" if back is None else "end")
