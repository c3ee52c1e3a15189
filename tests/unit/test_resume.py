"""A run started from a checkpoint of another run with the same past equals a full run, exactly.

Why it matters: the explainer answers a flip of the power switch with a run started from the
watched run's state at the flip (sim/resume.py). If anything a step changes were left out of a
checkpoint, the flipped timeline would silently differ from `python -m sim run` of the same scenario.
"""

import copy
import math

import networkx as nx
import pytest
import simpy

from sim import FREE_PLAY, PRESETS, Scenario, run
from sim.architecture import default_architecture
from sim.checkpoint import same_past_until
from sim.resume import Store
from sim.clock import Clock
from sim.interventions import parse
from sim.simulation import Simulation
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
    one = FREE_PLAY.replace(duration_min=30.0)
    long = Store(max_bytes=int(2.5 * run(one, checkpoint_every=30).approx_bytes()))   # two fit, not three
    for seed in (1, 2, 3):
        long.run(one.replace(seed=seed))
    assert len(long) == 2
    long.run(FREE_PLAY.replace(duration_min=120.0))   # alone over the limit: kept, the rest go
    assert len(long) == 1


def _static(component) -> dict:
    """A component's attributes besides its state, as comparable copies (references to other parts
    of the run — the clock, the graph, callbacks — are left out: they are checked on their own; the
    records are one row per step, taken from the run a checkpoint belongs to)."""
    out = {}
    for name, value in vars(component).items():
        if name in ("st", "records") or callable(value) or isinstance(value, (Clock, nx.DiGraph, simpy.Environment)) \
                or hasattr(value, "st") or (isinstance(value, dict) and any(callable(v) for v in value.values())):
            continue
        out[name] = copy.deepcopy(value)
    return out


def test_a_step_changes_nothing_outside_the_components_state():
    """The one protocol: everything a step changes lives in a component's `st`, which a checkpoint
    pickles whole. Steps through a cut, a UPS running flat, boots, breakers and every kind of
    intervention; any attribute changed outside `st` would be lost by a checkpoint."""
    s = Scenario(circuit_breaker=True, ups_minutes=1.0, duration_min=60.0, power_cut_min=5.0, power_restored_min=20.0)
    s = s.replace(actions=s.actions + tuple(parse(t) for t in (
        "capacity_loss node=user_db fraction=0.5 start_min=22 end_min=25",
        "node_stop node=user_cache start_min=24 end_min=26", "latency call=api_gateway>auth added_ms=300 start_min=26",
        "load_surge factor=1.3 start_min=27 end_min=29", "shed_load start_min=28 end_min=30",
        # the operators' actions (sim.operator)
        "admit fraction=0.4 start_min=30 end_min=33", "retry_budget start_min=31 end_min=34",
        "breakers start_min=32 end_min=35", "add_capacity node=auth factor=2 start_min=33 end_min=45",
        "failover node=upload start_min=34 end_min=45", "warm_caches start_min=36")))
    sim = Simulation(s, node_metrics=True)
    before = {name: _static(c) for name, c in sim.components().items()}
    handlers, env = dict(sim.clock.handlers), sim.clock.env
    while sim.step():
        pass
    after = {name: _static(c) for name, c in sim.components().items()}
    for name in before:
        assert before[name] == after[name], f"{name}: a step changed something outside its state"
    assert sim.clock.handlers == handlers and sim.clock.env is env
    assert sim.model.st.breaker_until != [-1.0] * sim.model.e_count     # the run did exercise breakers


def test_a_snapshot_restored_mid_run_continues_exactly():
    s = Scenario(duration_min=60.0, power_cut_min=5.0, power_restored_min=20.0)
    whole = run(s)
    sim = Simulation(s)
    for _ in range(150):
        sim.step()
    cp = sim.snapshot()
    again = Simulation(s)
    again.restore(cp, whole)
    while again.step():
        pass
    assert_same(again.timeline(), whole)
