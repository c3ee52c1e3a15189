"""A shorter run is exactly the start of a longer one.

Why it matters: the explainer can send the first minutes after a flip of the power switch before
the rest of the run is computed, and the two must never disagree. Nothing in the model may look
ahead to the end of the run.
"""

import pytest

from sim import PRESETS, Scenario, run
from tests.unit.timelines import assert_prefix


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_shorter_run_is_the_start_of_the_longer_one(name):
    s = PRESETS[name].scenario
    full = run(s)
    for minutes in (22.5, 80.0, 151.0):     # inside the outage, after the restore, after shedding
        assert_prefix(full, run(s.replace(duration_min=minutes)))


def test_a_switch_flip_run_cut_short_is_the_start_of_the_full_run():
    s = Scenario(power_cut_min=None, power_restored_min=None).with_power_flip(12.5, False)
    assert_prefix(run(s), run(s.replace(duration_min=40.0)))
