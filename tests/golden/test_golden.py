"""Each preset's timeline, and each example architecture's, equals its committed golden file
(regenerate deliberately, never silently)."""

import json

import pytest

from tests.golden.regenerate import NAMES, golden, path


@pytest.mark.parametrize("name", NAMES)
def test_preset_matches_golden(name):
    assert path(name).exists(), f"no golden file for {name}: run python -m tests.golden.regenerate"
    expected = json.loads(path(name).read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(golden(name), sort_keys=True))
    assert actual["events"] == expected["events"], "events differ (python -m tests.golden.regenerate to accept)"
    assert actual["milestones"] == expected["milestones"]
    assert actual["node_states"] == expected["node_states"]
    for metric, values in expected["metrics"].items():
        got = actual["metrics"][metric]
        for i, (a, b) in enumerate(zip(got, values)):
            if a is None or b is None:
                assert a == b, f"{metric} at {expected['t_s'][i]} s: {a} != {b}"
            else:
                assert a == pytest.approx(b, rel=1e-6, abs=1e-6), f"{metric} at {expected['t_s'][i]} s"


@pytest.mark.parametrize("name, feature", [("three_tier_database_stops", "checkout"),
                                           ("service_chain_budget", "search")])
def test_example_features_fall_while_their_database_is_stopped_and_come_back(name, feature):
    """No story roles here: the per-feature columns carry the story."""
    g = golden(name)
    success = g["metrics"][f"success_{feature}"]
    minute = {int(t // 60): i for i, t in enumerate(g["t_s"])}
    assert min(success[minute[0]:minute[20]]) > 0.95          # fine before the crash at 0:20
    assert min(success[minute[21]:minute[25]]) < 0.5          # failing while the database is down
    assert success[-1] > 0.95                                  # back after it restarts
    assert all(v is None for v in g["metrics"]["login_success"])   # no login role: blank, not "100 %"


def test_the_chain_without_a_retry_budget_stays_down():
    """Retries at five layers: the same five-minute stop leaves the chain stuck (A^D amplification)."""
    g = golden("service_chain_storm")
    assert g["metrics"]["success_search"][-1] < 0.05
    assert max(g["metrics"]["retry_amplification"]) > 100


def _at(g: dict, minute: int) -> int:
    return {int(t // 60): i for i, t in enumerate(g["t_s"])}[minute]


def test_two_sites_survive_the_loss_of_one_only_with_enough_headroom():
    """Static stability: site 2 carries everyone only when its spare capacity covers site 1's load."""
    short, enough = golden("two_sites_headroom_short"), golden("two_sites_headroom_enough")
    for feature in ("pay", "check_balance"):
        assert min(short["metrics"][f"success_{feature}"][_at(short, 20):_at(short, 40)]) < 0.1
        assert min(enough["metrics"][f"success_{feature}"]) > 0.95
        assert short["metrics"][f"success_{feature}"][-1] > 0.95        # back after site 1 returns


def test_the_queue_keeps_orders_while_its_worker_is_away_then_drains():
    g = golden("queue_worker_stops")
    backlog = g["metrics"]["backlog_events"]
    assert min(g["metrics"]["success_place_order"]) > 0.95              # ordering never fails
    peak = max(range(len(backlog)), key=backlog.__getitem__)
    assert 30 <= g["t_s"][peak] / 60 <= 45 and backlog[peak] > 1000    # grows while the worker is away
    assert backlog[-1] < backlog[peak] / 5                              # and drains after it is back
