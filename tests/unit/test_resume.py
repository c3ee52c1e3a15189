"""A run started from a checkpoint of another run with the same past equals a full run, exactly.

Why it matters: the explainer answers a flip of the power switch with a run started from the
watched run's state at the flip (sim/resume.py). If anything a step changes were left out of a
checkpoint, the flipped timeline would silently differ from `python -m sim run` of the same scenario.
"""

import copy
import math

import pytest

from sim import FREE_PLAY, PRESETS, Scenario, run
from sim.architecture import default_architecture
from sim.checkpoint import same_past_until
from sim.resume import Store
from sim.traffic import TrafficModel
from tests.unit.timelines import assert_same


def _flipped(base: Scenario, t_min: float, store: Store):
    """The flipped run's first 20 minutes and the whole of it, both from the store."""
    on = ([True] + [on for t_s, on in base.utility_flips() if t_s < t_min * 60])[-1]
    s = base.with_power_flip(t_min, not on)              # the switch: the other way from what it is
    return s, store.run(s.replace(duration_min=t_min + 20)), store.run(s)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_flipped_run_from_a_checkpoint_is_the_full_run(name):
    base = PRESETS[name].scenario
    store = Store()
    store.run(base)
    for t_min in (10.0, 23.5, 95.0):        # on a checkpoint's own time, inside the outage, after it
        s, first, whole = _flipped(base, t_min, store)
        assert_same(first, run(s.replace(duration_min=t_min + 20)))
        assert_same(whole, run(s))


def test_free_play_flips_off_and_on_again_from_checkpoints():
    store = Store()
    store.run(FREE_PLAY)
    off = FREE_PLAY.with_power_flip(12.0, False)
    store.run(off.replace(duration_min=32.0))
    store.run(off)
    back = off.with_power_flip(27.0, True)       # resumes from the off run, itself resumed from FREE_PLAY
    found = store.find(back)
    assert found is not None and found[0].scenario.replace(duration_min=180.0) == off and found[1].t_s == 25 * 60
    assert_same(store.run(back), run(back))


def test_the_checkpoint_used_is_the_latest_before_the_flip():
    store = Store()
    store.run(FREE_PLAY)
    for t_min, expect_min in ((10.0, 5.0), (12.0, 10.0), (39.5, 35.0)):
        tl, cp = store.find(FREE_PLAY.with_power_flip(t_min, False))
        assert tl.scenario == FREE_PLAY and cp.t_s == expect_min * 60


def test_nothing_is_shared_with_a_different_past():
    store = Store()
    store.run(FREE_PLAY)
    assert store.find(FREE_PLAY.replace(seed=2).with_power_flip(30.0, False)) is None
    assert store.find(FREE_PLAY.replace(retry_policy="backoff").with_power_flip(30.0, False)) is None
    assert store.find(FREE_PLAY.with_power_flip(3.0, False)) is None           # before the first checkpoint
    with pytest.raises(ValueError):
        tl, cp = store.find(FREE_PLAY.with_power_flip(30.0, False))
        run(FREE_PLAY.replace(seed=2), resume=(tl, cp))


def test_same_past_until():
    s = Scenario()
    assert same_past_until(s, s) == math.inf
    assert same_past_until(s, s.replace(duration_min=30.0)) == math.inf
    assert same_past_until(s, s.replace(load=1.5)) == -math.inf
    assert same_past_until(s, s.with_power_flip(40.0, True)) == 40 * 60       # the scheduled restore at 75 goes
    assert same_past_until(s, s.replace(power_restored_min=None)) == 75 * 60
    assert same_past_until(FREE_PLAY, FREE_PLAY.with_power_flip(12.5, False)) == 12.5 * 60


def test_the_store_is_bounded_and_keeps_what_others_start_from():
    store = Store(size=3)
    store.run(FREE_PLAY.replace(duration_min=30.0))
    for seed in (2, 3, 4):
        store.run(FREE_PLAY.replace(seed=seed, duration_min=30.0))
        store.find(FREE_PLAY.replace(duration_min=30.0).with_power_flip(20.0, False))  # touched: kept
    assert len(store) == 3
    assert store.find(FREE_PLAY.replace(duration_min=30.0).with_power_flip(20.0, False)) is not None
    assert store.find(FREE_PLAY.replace(seed=2, duration_min=30.0).with_power_flip(20.0, False)) is None
    long = Store(max_steps=500)                  # 30 min = 181 steps: two fit, a third pushes the oldest out
    for seed in (1, 2, 3):
        long.run(FREE_PLAY.replace(seed=seed, duration_min=30.0))
    assert len(long) == 2
    long.run(FREE_PLAY.replace(duration_min=120.0))   # 721 steps, alone over the limit: kept, the rest go
    assert len(long) == 1


def test_a_checkpoint_holds_everything_a_step_changes():
    """Attributes of the traffic model that a step changes must all be in TrafficModel.STATE."""
    model = TrafficModel(default_architecture(), Scenario(circuit_breaker=True))
    for i in range(model.n):
        if model.is_cache[i]:
            model.lose_cache(i, 1.0)                      # so that the steps warm it again
    before = copy.deepcopy(vars(model))
    avail = [0.0 if model.primary[i] and not model.is_feature[i] else 1.0 for i in range(model.n)]
    for _ in range(3):
        model.step(10.0, avail, model.normal_demand(1.0), shedding=False, breakers=True)
    changed = {k for k, v in vars(model).items() if k not in before or before[k] != v}
    assert changed - set(TrafficModel.STATE) <= {"_cap_for", "_cap_avail"}
    assert {"queue", "warm", "breaker_until", "half_open", "succ"} <= changed
