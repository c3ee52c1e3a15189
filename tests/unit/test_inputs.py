"""Bad inputs get one precise message naming the problem and what is allowed."""

import pytest

from sim import ArchitectureError, Scenario, ScenarioError, apply_settings, default_architecture, parse_architecture
from sim.scenario import parse_value, to_settings
from tests.unit.archs import ONE_HALL_FACILITY

MINIMAL = ONE_HALL_FACILITY + """[[node]]
id = "app"
kind = "feature"
[[node]]
id = "db"
kind = "datastore"
halls = ["A"]
[[call]]
from = "app"
to = "db"
"""


def test_minimal_architecture_loads_with_power_edges():
    g = parse_architecture(MINIMAL)
    assert g.has_edge("db", "pdu_a") and g.edges["db", "pdu_a"]["kind"] == "power"
    assert g.has_edge("pdu_a", "ups") and g.has_edge("ups", "ats") and g.has_edge("ats", "utility")


@pytest.mark.parametrize("change, words", [
    (lambda t: t.replace('kind = "datastore"', 'kind = "databse"'), "kind = 'databse'; use one of"),
    (lambda t: t.replace('halls = ["A"]', 'halls = ["Z"]'), "hall 'Z' is not declared"),
    (lambda t: t.replace('to = "db"', 'to = "nope"'), "to = 'nope' is not a declared node"),
    (lambda t: t + '[[call]]\nfrom = "db"\nto = "app"\n', "nothing may call a feature"),
    (lambda t: t.replace('role = "ups"', 'role = "battery"'), "role = 'battery'"),
    (lambda t: t.replace('[[node]]\nid = "ups"\nkind = "facility"\nrole = "ups"\n', ''), "role = 'ups'"),
    (lambda t: t + '[[node]]\nid = "db"\nkind = "cache"\nhalls = ["A"]\n', "declared twice"),
    (lambda t: t.replace('id = "app"\nkind = "feature"', 'id = "app"\nkind = "feature"\ncolour = "red"'),
     "unknown key 'colour'"),
    (lambda t: t.replace('halls = ["A"]', 'halls = ["A"]\ncapacity = -1'), "capacity = -1 is out of range"),
    (lambda t: t + "[[node]\n", "not valid TOML"),
])
def test_architecture_errors_are_precise(change, words):
    with pytest.raises(ArchitectureError) as err:
        parse_architecture(change(MINIMAL), source="mine.toml")
    assert str(err.value).startswith("mine.toml: ") and words in str(err.value)


def test_call_cycles_are_refused():
    text = MINIMAL + ('[[node]]\nid = "svc"\nkind = "service"\nsite = "region"\n'
                      '[[call]]\nfrom = "db"\nto = "svc"\n[[call]]\nfrom = "svc"\nto = "db"\n')
    with pytest.raises(ArchitectureError, match="cycle"):
        parse_architecture(text)


def test_default_architecture_has_the_story_nodes():
    g = default_architecture()
    for node in ("utility", "generator", "ats", "ups", "cooling", "pdu_a", "pdu_b", "session_store",
                 "counters_db", "event_log", "feature_store", "ranking", "object_storage", "earnings_ledger",
                 "cdn_edge", "login", "upload_video", "for_you_feed", "view_counts", "creator_earnings",
                 "watch_videos"):
        assert node in g, node


@pytest.mark.parametrize("key, text, words", [
    ("power_restored_min", "soon", "use a number from 0 to 1440 or never"),
    ("retry_policy", "sometimes", "use one of: none, immediate, backoff, budget"),
    ("max_retries", "2.5", "whole number"),
    ("ups_minutes", "-3", "out of range"),
    ("failover_headroom", "nan", "finite"),
    ("nonsense", "1", "unknown setting 'nonsense'"),
])
def test_setting_errors(key, text, words):
    with pytest.raises(ScenarioError, match=None) as err:
        apply_settings(Scenario(), {key: text})
    assert words in str(err.value)


def test_settings_round_trip_as_text():
    s = Scenario().replace(power_restored_min=None, generator="delayed", load_shedding=True, load=1.25,
                           power_switch=((20.0, False), (40.0, True)))
    assert apply_settings(Scenario(), to_settings(s)) == s
    assert parse_value("power_restored_min", "never") is None
    assert parse_value("cooling_on_generator", "ON") is True


def test_switch_flips_replace_what_was_scheduled_after_them():
    s = Scenario()                                  # cut at 15, restored at 75
    flipped = s.with_power_flip(40.0, True)         # switched back on at 40: the 75 restore is moot
    assert flipped.utility_flips() == [(900.0, False), (2400.0, True)]
    early = s.with_power_flip(5.0, False)           # cut at 5 by hand; the schedule after it is dropped
    assert early.utility_flips() == [(300.0, False)]
