"""A shorter run is exactly the start of a longer one.

Why it matters: the explainer can send the first minutes after a flip of the power switch before
the rest of the run is computed, and the two must never disagree. Nothing in the model may look
ahead to the end of the run.
"""

import pytest

from sim import PRESETS, Scenario, run


def _prefix_of(full, part) -> None:
    n = len(part.t_s)
    assert part.t_s == full.t_s[:n]
    for name, values in part.metrics.items():
        assert values == full.metrics[name][:n], name
    assert part.node_states == full.node_states[:n]
    assert part.edge_fail == full.edge_fail[:n]
    end = part.t_s[-1]
    assert part.events == [e for e in full.events if e.t_s <= end]
    assert part.milestones == [m for m in full.milestones if m.t_s <= end]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_shorter_run_is_the_start_of_the_longer_one(name):
    s = PRESETS[name].scenario
    full = run(s)
    for minutes in (22.5, 80.0, 151.0):     # inside the outage, after the restore, after shedding
        _prefix_of(full, run(s.replace(duration_min=minutes)))


def test_a_switch_flip_run_cut_short_is_the_start_of_the_full_run():
    s = Scenario(power_cut_min=None, power_restored_min=None).with_power_flip(12.5, False)
    _prefix_of(run(s), run(s.replace(duration_min=40.0)))
