"""The rate model's mechanisms inside the graph: layered retries, cache misses, fallbacks, shedding."""

import pytest

from sim import Scenario, parse_architecture
from sim.traffic import TrafficModel
from tests.unit.archs import ONE_HALL_FACILITY

CHAIN = ONE_HALL_FACILITY + """
[[node]]
id = "app"
kind = "feature"
demand = 10
[[node]]
id = "front"
kind = "service"
site = "region"
capacity = 1000
[[node]]
id = "middle"
kind = "service"
site = "region"
capacity = 1000
[[node]]
id = "db"
kind = "datastore"
halls = ["A"]
[[call]]
from = "app"
to = "front"
retry = true
[[call]]
from = "front"
to = "middle"
retry = true
[[call]]
from = "middle"
to = "db"
retry = true
"""


def _model(text, **scenario):
    g = parse_architecture(text)
    s = Scenario().replace(failover_headroom=0.0, **scenario)
    return TrafficModel(g, s)


def _run(model, avail_db, steps=5, shedding=False):
    avail = [1.0] * model.n
    avail[model.idx["db"]] = avail_db
    for _ in range(steps):
        model.step(10.0, avail, model.normal_demand(1.0), shedding=shedding, breakers=False)


def test_retries_multiply_across_layers():
    # 3 layers × up to 2 retries (3 attempts) each: a dead database sees 3^3 = 27× the calls.
    model = _model(CHAIN, retry_policy="immediate", max_retries=2)
    _run(model, avail_db=0.0)
    db = model.idx["db"]
    assert model.arrivals_total[db] == pytest.approx(27 * 10, rel=1e-6)
    assert model.retry_amplification() == pytest.approx(27, rel=1e-6)
    assert model.class_success("app") == 0.0


def test_no_retries_no_amplification():
    model = _model(CHAIN, retry_policy="none", max_retries=2)
    _run(model, avail_db=0.0)
    assert model.arrivals_total[model.idx["db"]] == pytest.approx(10)
    assert model.retry_amplification() == 1.0


def test_healthy_chain_succeeds():
    model = _model(CHAIN)
    _run(model, avail_db=1.0)
    assert model.class_success("app") > 0.999
    assert model.retry_amplification() == pytest.approx(1.0)


CACHED = CHAIN.replace('''[[call]]
from = "middle"
to = "db"
retry = true''', '''[[node]]
id = "cache"
kind = "cache"
site = "region"
hit_ratio = 0.9
capacity = 1000
[[call]]
from = "middle"
to = "cache"
[[call]]
from = "cache"
to = "db"
cache_miss = true''')


def test_cache_hit_ratio_drop_multiplies_backend_load():
    model = _model(CACHED)
    _run(model, avail_db=1.0, steps=1)
    warm_load = model.arrivals_total[model.idx["db"]]
    model.warm[model.idx["cache"]] = 0.5 / 0.9        # hit ratio 0.5
    _run(model, avail_db=1.0, steps=1)
    assert model.arrivals_total[model.idx["db"]] / warm_load == pytest.approx(5.0, rel=1e-6)


def test_cold_cache_warms_in_warmup_time_when_the_backend_keeps_up():
    big_db = CACHED.replace('id = "db"\nkind = "datastore"\nhalls = ["A"]',
                            'id = "db"\nkind = "datastore"\nhalls = ["A"]\ncapacity = 100')
    model = _model(big_db, cache_warmup_min=10)
    model.warm[model.idx["cache"]] = 0.0
    _run(model, avail_db=1.0, steps=60)          # 10 minutes
    assert model.warm[model.idx["cache"]] > 0.9


def test_cold_cache_overloads_a_small_backend_until_warm():
    model = _model(CACHED, cache_warmup_min=10)   # db sized at 2.5× its warm-cache load
    model.warm[model.idx["cache"]] = 0.0
    _run(model, avail_db=1.0, steps=1)
    assert model.util[model.idx["db"]] > 3.0        # a cold capacity cache: 10× the misses
    _run(model, avail_db=1.0, steps=89)             # 15 minutes
    assert model.warm[model.idx["cache"]] > 0.9
    assert model.util[model.idx["db"]] < 1.0


FALLBACK = CHAIN.replace('''[[call]]
from = "middle"
to = "db"
retry = true''', '''[[node]]
id = "pool"
kind = "edge"
site = "edge"
[[call]]
from = "middle"
to = "db"
required = false
fallback = "pool"''')


def test_fallback_keeps_the_feature_up_but_not_full_quality():
    model = _model(FALLBACK)
    _run(model, avail_db=0.0)
    assert model.class_success("app") > 0.99
    assert model.class_quality("app") < 0.01


def test_circuit_breaker_stops_calls_to_a_dead_dependency_and_uses_the_fallback():
    model = _model(FALLBACK, circuit_breaker=True)
    avail = [1.0] * model.n
    avail[model.idx["db"]] = 0.0
    for _ in range(3):
        model.step(10.0, avail, model.normal_demand(1.0), shedding=False, breakers=True)
    k = model.edge_ids.index(("middle", "db"))
    assert model.breaker_until[k] > model.now - 10          # open
    assert model.arrivals_total[model.idx["db"]] == 0.0     # no calls reach the dead database
    assert model.class_success("app") > 0.99                # the fallback answers at once
    # Once the database is back, a half-open probe succeeds and the breaker closes again.
    avail[model.idx["db"]] = 1.0
    for _ in range(6):
        model.step(10.0, avail, model.normal_demand(1.0), shedding=False, breakers=True)
    assert model.class_quality("app") > 0.99
    assert not model.half_open[k]
