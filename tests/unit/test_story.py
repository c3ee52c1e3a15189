"""The default story reproduces every symptom of the outage, and the mechanisms behind recovery."""

import math

import pytest

from sim import PRESETS, Scenario, captions, run, summary
from sim.timeline import STATES


@pytest.fixture(scope="module")
def story():
    return run(PRESETS["as_reported"].scenario)


def _at(tl, name, minute):
    return tl.metrics[name][tl.index_at(minute * 60)]


def test_every_symptom_of_the_outage(story):
    tl = story
    s = tl.scenario
    during = (s.power_cut_min + 10 + s.power_restored_min) / 2          # halls dark
    for name in ("login_success", "upload_success"):
        assert _at(tl, name, 5) > 0.99 and _at(tl, name, during) < 0.05, name
    # The feed keeps serving, but generic and repetitive.
    assert _at(tl, "feed_success", during) > 0.95
    assert _at(tl, "feed_personalization", during) < 0.05
    assert _at(tl, "feed_repeat_rate", during) > 5 * _at(tl, "feed_repeat_rate", 5)
    # Displayed views and earnings fall to 0; the true values never decrease.
    assert _at(tl, "views_displayed", during) < 1 and _at(tl, "earnings_displayed", during) < 0.01
    for name in ("views_true", "earnings_true"):
        xs = tl.metrics[name]
        assert all(b >= a for a, b in zip(xs, xs[1:])), name
    assert max(tl.metrics["feed_load_time_s"]) > 2 * tl.metrics["feed_load_time_s"][0]
    assert max(tl.metrics["backlog_events"]) > 0


def test_power_back_but_app_degraded_for_a_while_then_recovers(story):
    tl = story
    s = tl.scenario
    after = s.power_restored_min + 20                  # servers booted by now
    assert _at(tl, "login_success", after) < 0.5      # still down: retries, cold caches
    assert _at(tl, "login_success", s.shed_load_min + 10) > 0.95
    labels = [m.label for m in tl.milestones]
    assert labels.index("Power restored") < labels.index("Operators shed load") < labels.index("Recovered")


def test_nothing_lost_at_the_end(story):
    m = story.metrics
    # one screen: whole views and whole cents, never more than the true count
    assert 0 <= m["views_true"][-1] - m["views_displayed"][-1] < 1
    assert 0 <= m["earnings_true"][-1] - m["earnings_displayed"][-1] < 0.01 + 1e-9
    assert m["backlog_events"][-1] < 1


def test_every_state_change_names_its_cause(story):
    assert len(story.events) > 20
    for e in story.events:
        assert e.state in STATES and e.cause and e.node in story.graph
    recoveries = [e for e in story.events if e.state == "up"]
    assert recoveries and all(e.cause for e in recoveries)


def test_cli_story_says_it_in_words(story):
    text = "\n".join(c.text for c in captions(story)) + "\n".join(summary(story))
    for words in ("Utility power lost", "UPS batteries exhausted", "Hall A loses power", "Log in: fails",
                  "For You feed: degraded", "View/like counts: fails", "Utility power restored",
                  "Operators shed load", "nothing was lost", "75 min later"):
        assert words in text, words


def _end(tl, name):
    return tl.metrics[name][-1]


@pytest.mark.parametrize("policy, recovers", [("immediate", False), ("backoff", True), ("budget", True),
                                              ("none", True)])
def test_metastability_retries_sustain_the_failure(policy, recovers):
    tl = run(Scenario().replace(retry_policy=policy, shed_load_min=None))
    assert (_end(tl, "login_success") > 0.95) is recovers


def test_shedding_load_ends_the_retry_storm():
    stuck = run(PRESETS["retry_storm"].scenario)
    assert _end(stuck, "login_success") < 0.05
    shed = run(PRESETS["retry_storm"].scenario.replace(shed_load_min=90.0))
    assert _end(shed, "login_success") > 0.95
    assert max(stuck.metrics["retry_amplification"]) > 2


def test_counter_fallbacks():
    last = run(PRESETS["counters_done_right"].scenario)
    i = last.index_at(14 * 60)
    before = last.metrics["views_displayed"][i]
    assert min(last.metrics["views_displayed"][i:]) >= before - 1       # never 0: the last known value
    hide = run(Scenario().replace(counter_fallback="hide"))
    assert any(math.isnan(v) for v in hide.metrics["views_displayed"])
    assert "views_displayed" in hide.metrics_csv().splitlines()[0]
    assert ",," in hide.metrics_csv()                                  # hidden → blank cell


def test_well_engineered_preset_shows_users_no_harm():
    tl = run(PRESETS["well_engineered"].scenario)
    for name in ("login_success", "upload_success", "feed_success"):
        assert min(tl.metrics[name]) > 0.99


def test_same_scenario_same_timeline_and_seed_matters():
    s = Scenario().replace(duration_min=120)
    assert run(s).to_json() == run(s).to_json()
    assert run(s).to_json() != run(s.replace(seed=2)).to_json()


def test_flipping_the_switch_keeps_the_past():
    base = Scenario().replace(power_cut_min=None, power_restored_min=None, duration_min=90)
    flipped = base.with_power_flip(30.0, False)
    a, b = run(base), run(flipped)
    cut = a.index_at(30 * 60)
    assert a.node_states[:cut] == b.node_states[:cut]
    assert a.metrics["login_success"][:cut] == b.metrics["login_success"][:cut]
    assert b.states_at(60 * 60)["pdu_a"] == "down"
    back = flipped.with_power_flip(60.0, True)
    c = run(back)
    assert c.node_states[:c.index_at(60 * 60)] == b.node_states[:b.index_at(60 * 60)]
    assert c.states_at(62 * 60)["pdu_a"] == "up"
