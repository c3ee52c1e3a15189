"""The numpy step (sim.vector) against the pure-Python step on mid-size architectures.

Large architectures step over arrays (sim.traffic.VECTOR_MIN_NODES): compiled when numba is
installed (test_compiled.py), in numpy otherwise; the examples and goldens never do. Here the numpy
step. Both compute the same model; they differ in summation order and in the last bit of
`np.exp`/`np.power` against `math.exp`/`**`. Those differences stay at 1e-16 except where the model's
own formulas are ill-conditioned: expected attempts (1 − x^A)/(1 − x) for a call whose attempts
almost all fail (x within 1e-6 of 1) magnify a last-bit difference by 1/(1 − x), in both paths
alike. So: node states, events and milestones must be identical in every scenario, and metrics
must agree to TOLERANCE — except under backoff, where a ten-layer chain melts down even before
the cut (calls failing at x ≈ 1 − 1e-12 for hours) and the metrics are only as exact as that
formula. Causes are not compared: the diagnosis breaks ties between equally failing calls by
their last bit.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.generate import dense_text, generate_text
from sim import Scenario, parse_architecture, run
from sim.interventions import parse
from sim.simulation import Simulation
from sim.traffic import VECTOR_MIN_NODES, TrafficModel
from tests.unit.timelines import assert_same

SHAPES = {"generated": generate_text, "dense": dense_text}


@pytest.fixture(autouse=True)
def numpy_step(monkeypatch):
    """These tests are of the numpy step: the compiled one (sim.compiled, when numba is installed)
    is compared with the pure step in test_compiled.py."""
    monkeypatch.setattr("sim.traffic.compiled.available", lambda: False)


BASE = Scenario(duration_min=35.0, power_cut_min=5.0, power_restored_min=20.0)


def _scenario(name: str, g) -> Scenario:
    """The scenarios compared, with interventions aimed at this graph's nodes and calls."""
    busiest = max((n for n, d in g.nodes(data=True) if d["kind"] == "service"), key=g.in_degree)
    feature = next(n for n, d in g.nodes(data=True) if d["kind"] == "feature")
    call = next(f"{u}>{v}" for u, v, d in g.out_edges(feature, data=True) if d["kind"] == "call")
    more = {
        "as reported": ((), {}),
        "budget, shedding, breakers": (("retry_budget start_min=8 end_min=30", "shed_load start_min=10 end_min=35",
                                        "breakers start_min=12 end_min=40"), {}),
        "capacity loss, latency, surge": ((f"capacity_loss node={busiest} fraction=0.7 start_min=22 end_min=32",
                                           f"latency call={call} added_ms=900 start_min=24 end_min=34",
                                           "load_surge factor=1.6 start_min=26 end_min=30"),
                                          {"retry_policy": "immediate", "max_retries": 6}),  # capped by the deadline
        "backoff with breakers": ((), {"retry_policy": "backoff", "circuit_breaker": True}),
    }
    actions, settings = more[name]
    return BASE.replace(actions=BASE.actions + tuple(parse(t) for t in actions), **settings)


SCENARIOS = ("as reported", "budget, shedding, breakers", "capacity loss, latency, surge", "backoff with breakers")
TOLERANCE = {"as reported": 1e-7, "budget, shedding, breakers": 1e-7, "capacity loss, latency, surge": 1e-6,
             "backoff with breakers": None}     # measured: 2.4e-9, 2.5e-9, 1.3e-8; backoff 1.4e-5 and 5e-2


@pytest.fixture(scope="module")
def graphs():
    return {shape: parse_architecture(make(250), source=f"{shape}-250") for shape, make in SHAPES.items()}


def _runs(g, s, monkeypatch):
    out = []
    for threshold in (10**9, 0):            # pure, then numpy
        monkeypatch.setattr("sim.traffic.VECTOR_MIN_NODES", threshold)
        out.append(run(s, g))
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", SCENARIOS)
def test_numpy_step_agrees_with_the_pure_step(graphs, shape, name, monkeypatch):
    g = graphs[shape]
    pure, vec = _runs(g, _scenario(name, g), monkeypatch)
    assert pure.t_s == vec.t_s
    assert pure.node_states == vec.node_states
    assert [(e.t_s, e.node, e.state) for e in pure.events] == [(e.t_s, e.node, e.state) for e in vec.events]
    assert pure.milestones == vec.milestones
    tol = TOLERANCE[name]
    if tol is None:
        return
    for metric, xs in pure.metrics.items():
        for t, x, y in zip(pure.t_s, xs, vec.metrics[metric]):
            same = (x != x and y != y) or math.isclose(x, y, rel_tol=tol, abs_tol=1e-12)
            assert same, f"{metric} at {t / 60:.1f} min: pure {x!r}, numpy {y!r}"
    for t, a, b in zip(pure.t_s, pure.edge_fail, vec.edge_fail):
        assert all(math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-7) for x, y in zip(a, b)), t   # float32 records


def test_the_path_follows_the_size(graphs):
    g = graphs["dense"]
    model = TrafficModel(g, Scenario())
    assert model.n >= VECTOR_MIN_NODES and model.vp is not None
    assert TrafficModel(g, Scenario(), vectorised=False).vp is None
    assert Simulation(Scenario()).model.vp is None          # the examples keep the exact pure path


def restored_mid_run(g) -> Simulation:
    """A run's snapshot after 100 steps, restored into a new simulation and run to the end, equals
    the whole run; returns the simulation the snapshot was taken from (to check which path ran)."""
    s = _scenario("budget, shedding, breakers", g)
    whole = run(s, g)
    sim = Simulation(s, g)
    for _ in range(100):
        sim.step()
    again = Simulation(s, g)
    again.restore(sim.snapshot(), whole)
    while again.step():
        pass
    assert_same(again.timeline(), whole)
    return sim


def test_a_snapshot_restored_mid_run_continues_exactly_on_the_numpy_path(graphs):
    assert restored_mid_run(graphs["generated"]).model.vp is not None


@pytest.mark.parametrize("shape", SHAPES)
def test_the_array_classifier_matches_the_pure_one_step_by_step(graphs, shape):
    """On the numpy path the classifier works over arrays (sim.states._VectorClassifier); each step,
    the pure loop run on the same model state and the same previous codes gives the same codes,
    events (with causes) and call failures."""
    import copy
    from array import array

    g = graphs[shape]
    sim = Simulation(_scenario("budget, shedding, breakers", g), g)
    cl = sim.classifier
    assert cl.vec is not None
    vec_classify = cl.classify
    seen = {"steps": 0, "changes": 0}

    def both(t, avail, booting, backlog):
        before = copy.deepcopy(cl.st)
        codes, events = vec_classify(t, avail, booting, backlog)
        after, cl.st = cl.st, before
        cl.vec, vec = None, cl.vec
        try:
            pure_codes, pure_events = vec_classify(t, avail, booting, backlog)
            pure_row = array("f", cl.edge_failures())
        finally:
            cl.vec, cl.st = vec, after
        assert codes == pure_codes
        assert events == pure_events
        assert cl.edge_failure_row() == pure_row
        seen["steps"] += 1
        seen["changes"] += len(events)
        return codes, events

    cl.classify = both
    while sim.step():
        pass
    assert seen["steps"] == sim.steps + 1 and seen["changes"] > 20


@pytest.mark.parametrize("name", ("queue_worker", "service_chain", "social_video", "three_tier", "two_sites"))
def test_the_examples_forced_onto_the_numpy_path_agree(name, monkeypatch):
    """The examples never take the numpy path by size; forced onto it they exercise what the
    generated shapes lack (fallbacks, quality, consumers, caches in front of queues, two sites) and
    the case where every class is its own representative. Same states, events and milestones;
    metrics to 1e-6 relative or 1e-8 absolute (a near-zero success of the retry chain is only as
    exact as the expected-attempts formula there)."""
    from sim import load_architecture
    from pathlib import Path
    g = load_architecture(Path(__file__).resolve().parents[2] / "sim" / "architectures" / f"{name}.toml")
    pure, vec = _runs(g, Scenario(), monkeypatch)
    assert pure.node_states == vec.node_states
    assert [(e.t_s, e.node, e.state) for e in pure.events] == [(e.t_s, e.node, e.state) for e in vec.events]
    assert pure.milestones == vec.milestones
    for metric, xs in pure.metrics.items():
        for t, x, y in zip(pure.t_s, xs, vec.metrics[metric]):
            same = (x != x and y != y) or math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-8)
            assert same, f"{metric} at {t / 60:.1f} min: pure {x!r}, numpy {y!r}"
