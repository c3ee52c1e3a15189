"""The compiled step (sim.compiled) against the pure-Python step: equal to the last bit.

The kernel is the pure path's loops over the same plan, in the same order, with the same libm
`exp` and `pow`, so runs must be *identical* — records, node states, events with their causes,
milestones and call failures — not merely close (the numpy step, test_vector.py, is only close).
Checked on the generated and dense shapes under the scenarios of test_vector.py, and on the
examples forced onto the compiled step under every intervention kind and every retry policy.
In CI numba is installed (requirements.txt), so these tests must run there, not skip.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sim import Scenario, compiled, load_architecture, parse_architecture, run
from sim.engine import OverBudget
from sim.interventions import parse
from sim.simulation import Simulation
from sim.traffic import TrafficModel
from tests.unit.test_vector import SCENARIOS, SHAPES, _runs, _scenario, restored_mid_run
from tests.unit.timelines import assert_same

ARCHITECTURES = Path(__file__).resolve().parents[2] / "sim" / "architectures"

if os.environ.get("CI") and not compiled.available():
    raise RuntimeError("CI: numba is not installed (requirements.txt), so the compiled step would go untested")
pytestmark = pytest.mark.skipif(not compiled.available(), reason="numba is not installed")


@pytest.fixture(scope="module")
def graphs():
    return {shape: parse_architecture(make(250), source=f"{shape}-250") for shape, make in SHAPES.items()}


def _pure_and_compiled(g, s, monkeypatch):
    return _runs(g, s, monkeypatch)         # pure, then over arrays: compiled (numba is installed)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_the_compiled_step_equals_the_pure_step(graphs, shape, name, monkeypatch):
    g = graphs[shape]
    pure, fast = _pure_and_compiled(g, _scenario(name, g), monkeypatch)
    assert_same(fast, pure)
    assert pure.events and [e.cause for e in pure.events] == [e.cause for e in fast.events]


ALL_KINDS = ("capacity_loss node=auth fraction=0.5 start_min=20 end_min=40",
             "node_stop node=ranking start_min=30 end_min=50",
             "latency call=api_gateway>auth added_ms=800 start_min=35 end_min=45",
             "hall_power hall=A start_min=60 end_min=70",
             "load_surge factor=1.5 start_min=80 end_min=90 feature=login",
             "shed_load start_min=95 end_min=100", "admit fraction=0.3 start_min=100 end_min=110",
             "retry_budget start_min=110 end_min=130", "breakers start_min=120 end_min=140",
             "add_capacity node=auth factor=3 start_min=125", "failover node=feed start_min=130 end_min=150",
             "warm_caches start_min=135")


@pytest.mark.parametrize("policy", ("immediate", "backoff", "budget", "none"))
def test_the_social_video_app_forced_onto_the_compiled_step_under_every_kind(policy, monkeypatch):
    """Fallbacks, quality, consumers, caches, two halls, every intervention kind; `immediate` with six
    retries is capped by the deadline (st.allowed changes step by step)."""
    g = load_architecture(ARCHITECTURES / "social_video.toml")
    s = Scenario(retry_policy=policy, max_retries=6 if policy == "immediate" else 3,
                 actions=Scenario().actions + tuple(parse(a) for a in ALL_KINDS))
    pure, fast = _pure_and_compiled(g, s, monkeypatch)
    assert_same(fast, pure)
    assert [e.cause for e in pure.events] == [e.cause for e in fast.events]


@pytest.mark.parametrize("name", ("queue_worker", "service_chain", "three_tier", "two_sites"))
def test_the_examples_forced_onto_the_compiled_step_are_identical(name, monkeypatch):
    g = load_architecture(ARCHITECTURES / f"{name}.toml")
    pure, fast = _pure_and_compiled(g, Scenario(), monkeypatch)
    assert_same(fast, pure)


def test_the_path_follows_the_size_and_the_switch(graphs):
    g = graphs["dense"]
    model = TrafficModel(g, Scenario())
    assert model.ka is not None and model.vp is None and model.over_arrays  # large: compiled
    numpy_only = TrafficModel(g, Scenario(), use_compiled=False)
    assert numpy_only.ka is None and numpy_only.vp is not None            # large, numba refused: numpy
    assert Simulation(Scenario()).model.ka is None                        # the examples: pure
    assert len(compiled._compiled["kernel"].signatures) == 1              # one compilation serves every run


def test_a_snapshot_restored_mid_run_continues_exactly_on_the_compiled_path(graphs):
    assert restored_mid_run(graphs["generated"]).model.ka is not None      # state written in place, too


def test_compiling_is_not_counted_in_a_runs_time_budget(graphs, monkeypatch):
    """The kernel compiles once per process (seconds); a run's deadline is for the run itself."""
    g = graphs["generated"]
    s = Scenario(duration_min=10.0)
    monkeypatch.setattr("sim.compiled.compile_for", lambda tm, ka: 100.0)     # as if compiling took 100 s
    assert run(s, g, deadline=time.monotonic() - 50.0).t_s                    # 50 s late, 100 s compiling: on time
    monkeypatch.setattr("sim.compiled.compile_for", lambda tm, ka: 0.0)
    with pytest.raises(OverBudget):
        run(s, g, deadline=time.monotonic() - 50.0)


def test_a_kernel_that_cannot_compile_leaves_the_numpy_step(graphs, monkeypatch, caplog):
    class Broken:
        signatures: list = []

        def __call__(self, *args):
            raise TypeError("no compiler here")

    monkeypatch.setitem(compiled._compiled, "kernel", Broken())
    g = graphs["generated"]
    model = TrafficModel(g, Scenario())
    assert model.ka is None and model.vp is not None and model.over_arrays
    assert "numpy" in caplog.text
    assert compiled._compiled["kernel"] is None
    assert run(Scenario(duration_min=10.0), g).t_s                            # and runs go on, in numpy


def test_prepare_readies_the_kernel_and_wanted_follows_the_size(graphs):
    assert compiled.prepare() is True and compiled._compiled["kernel"].signatures
    assert compiled._compiled["classify"].signatures
    assert compiled.wanted(graphs["generated"])                                  # 250 nodes
    assert not compiled.wanted(load_architecture(ARCHITECTURES / "social_video.toml"))
