"""Request-level reference simulator: the check on the fast rate model (issue 6).

The fast model (`sim.traffic`) moves *rates* through the call graph once per 10-s step and closes
the loop with formulas (expected attempts, Rayleigh late share, fluid queues). This module makes
no such shortcut: every user request is a SimPy process that walks its feature's call tree, each
call has its own timeout and retries (none, immediate, capped exponential backoff with full
jitter, or a token-bucket budget), caches hit or miss and fill from late responses, fallbacks
answer failed calls, breakers open and probe, and nodes admit, queue or shed requests. If the
two agree per simulated minute, the fast model's shortcuts are not what tells the story.

Shared with the fast model, so both see the *same* inputs: the architecture's call structure,
normal loads (L0), cache working sets and capacity rule (read from a `TrafficModel` built for the
scenario), the facility (`sim.power.Facility` with the same seeded boot jitter, so the same power
and boot timeline) and the mechanism constants of `sim.mechanisms`. Traffic runs at `rate_scale`
× the architecture's demand with capacities scaled alike, so a run takes seconds.

Scaling traffic down makes every node's arrivals far burstier, relative to its capacity, than at
full scale (Poisson counts vary as 1/√rate), and a tiny node (the user DB sees 0.125 requests/s
at 5 %) then queues past its callers' timeouts from noise alone — enough to tip the healthy app
into a retry storm. Three choices [assumption] keep the reduced run's burstiness at the full-scale
level instead: arrivals are a renewal process with Erlang-k gaps, k = 1/rate_scale (count
variance rate·t/k, i.e. full-scale Poisson's relative spread); fractional calls (cache misses,
calls < 1) are made by error diffusion rather than a coin per request; and a node is a FIFO
server of `capacity` requests/s that may bank BANK_S seconds (at least BANK_MIN requests) of
unused capacity. It queues up to 30 s of work (0.2 s with shedding) and rejects the rest, and a
request's own service time is Rayleigh with scale `service_latency(BASE_SERVICE_S, u)` — the
fast model's latency assumption, drawn per request instead of integrated. Everything else —
timeouts, retries, late answers, cache fills, breakers, backlogs — happens request by request.

Queues follow `queue_step`'s rules: when capacity rises (servers finish booting) the queued work
drains at the new rate; when it falls, or operators turn shedding on, the queued requests beyond
the new limit are lost. Not modelled: the fast model's ±2 % demand noise.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Generator
from functools import partial
from typing import Any

import networkx as nx
import simpy
from simpy.events import Event as _SimEvent

from . import mechanisms as m
from .architecture import default_architecture, feature_roles
from .clock import Clock, after_facility
from .engine import CONSUMER_HEADROOM
from .power import Facility
from .scenario import Scenario
from .servers import ServerGroups
from .timeline import Timeline
from .traffic import (
    BASE_SERVICE_S,
    BREAKER_OPEN_S,
    BREAKER_PROBE,
    BREAKER_TRIP,
    TrafficModel,
)

BANK_S = 1.0                    # [assumption] unused capacity a node can bank, in seconds of its capacity…
BANK_MIN = 2.0                  # … and at least this many requests (absorbs Poisson bursts at low rates)
_QUEUE = inspect.signature(m.queue_step).parameters
MAX_WAIT_S: float = _QUEUE["max_wait_s"].default      # queue limit without shedding (30 s of work)
SHED_WAIT_S: float = _QUEUE["shed_wait_s"].default    # … and with shedding (0.2 s)
DRAIN_S = 60.0                  # run on after the last arrival so late requests finish
COMPARED = ("login_success", "upload_success", "feed_personalization")
REFERENCE_METRICS = COMPARED + ("feed_success", "watch_success")
_ROLE_OF = {"login_success": "login", "upload_success": "upload", "feed_personalization": "feed",
            "feed_success": "feed", "watch_success": "watch"}   # metric -> the feature role it reads

# A call's outcome: (succeeded, full quality (no fallback anywhere below), shed — "do not retry").
Outcome = tuple[bool, bool, bool]
_FAIL: Outcome = (False, False, False)


def _expire(done: _SimEvent, _ev: Any) -> None:
    """The caller's timeout: the attempt fails unless its answer already came."""
    if not done.triggered:
        done.succeed(_FAIL)


class ReferenceRun:
    """One request-level run. Build, then `run()`; results are per simulated minute."""

    def __init__(self, scenario: Scenario, graph: nx.DiGraph | None = None, rate_scale: float = 0.05) -> None:
        if not 0.0 < rate_scale <= 1.0:
            raise ValueError(f"rate_scale={rate_scale!r} must be in (0, 1]")
        self.s = s = scenario
        self.g = g = graph if graph is not None else default_architecture()
        self.scale = rate_scale
        self.tm = tm = TrafficModel(g, s)        # structure, L0, cache sizes and capacity rule only
        self.env = env = simpy.Environment()
        self.rng = random.Random(f"{s.seed}:reference")
        n, e = tm.n, tm.e_count
        # Per (class, node): the calls a request makes there, as (edge, its fallback edge or -1).
        self.calls_at: list[list[list[tuple[int, int]]]] = [
            [[(k, tm.fb_edge[k]) for k in tm.pairs_by_class[i].get(c, []) if not tm.is_fb[k]] for i in range(n)]
            for c in range(tm.c_count)]
        self.fill_of = [tm.src[k] if tm.cache_miss[k] else -1 for k in range(e)]   # look-aside cache to fill
        self.needed = [tm.required[k] or tm.fb_edge[k] >= 0 for k in range(e)]
        self.max_attempts = [s.max_retries + 1 if (tm.retry[k] and s.retry_policy != "none") else 1
                             for k in range(e)]
        self.cache_items = [x * rate_scale for x in tm.cache_items]
        self.warm = [1.0] * n
        self.cap = [0.0] * n
        self.bank_s = [0.0] * n                 # seconds of capacity a node can bank
        self.vfinish = [-math.inf] * n          # virtual finish time of the node's queued work
        self.epoch = [0] * n                    # bumped when a node loses capacity: its queue is lost
        self.arr_step = [0] * n                 # arrivals this step (for utilisation)
        self.util = [0.0] * n
        self.shedding = s.load_shedding
        # Breakers and budgets, per edge.
        self.att_step = [0] * e
        self.fail_step = [0] * e
        self.breaker_until = [-1.0] * e
        self.half_open = [False] * e
        # Retry budget: a success earns RETRY_BUDGET_RATIO tokens, a retry costs one; the bucket
        # holds one step's earnings at normal load [assumption], and starts full.
        self.bucket_cap = [max(1.0, m.RETRY_BUDGET_RATIO * self._edge_l0(k) * rate_scale * s.step_s)
                           for k in range(e)]
        self.bucket = list(self.bucket_cap)
        # Demand (requests/s) per user class at this scale; consumers are paced per step.
        self.consumer_classes = [tm.class_of[r] for r in tm.consumers]
        self.demand = [tm.demand_base[c] * s.load * rate_scale for c in range(tm.c_count)]
        self.consumer_rate = {c: tm.event_rate(s.load) * rate_scale for c in self.consumer_classes}
        self.pace = {c: 1.0 for c in self.consumer_classes}
        self.backlog = 0.0
        self.produced_step = 0.0
        self.applied_step = 0.0
        self.consumer_done = {c: [0, 0] for c in self.consumer_classes}   # [completed, succeeded]
        # Records per class and minute: [requests, successes, full quality].
        self.minutes = math.ceil(s.duration_min)
        self.rec = [[[0, 0, 0] for _ in range(self.minutes)] for _ in range(tm.c_count)]
        self.requests = 0
        self.visits = 0
        # Power: the same facility and boot processes as sim.engine, with the same seeded jitter.
        self.boot_rng = random.Random(f"{s.seed}:boot")
        self.clock = Clock(env)
        self.servers = ServerGroups(self.clock, g, self.boot_rng, self._servers_lost)
        self.facility = Facility(self.clock, s, g.graph["halls"], lambda *a: None, self._on_hall)
        for t, on in s.utility_flips():
            self.clock.call_at(t, lambda on=on: self.facility.set_utility(on))
        self.avail = [1.0] * n
        env.process(self._steps())
        self.erlang_k = max(1, round(1.0 / rate_scale))
        self.dither = [0.5] * (tm.c_count * e)  # error diffusion of fractional calls per (class, edge)
        for c in range(tm.c_count):
            env.process(self._arrivals(c))
        if s.shed_load_min is not None and not s.load_shedding:
            env.process(self._operator_shed(s.shed_load_min * 60.0))

    def _edge_l0(self, k: int) -> float:
        """Normal-load calls per second on edge k (left by the TrafficModel's healthy baseline step)."""
        tm = self.tm
        return sum(tm.edge_load[c * tm.e_count + k] for c in range(tm.c_count))

    # ---- power: the same server groups as sim.engine (sim.servers) -----------------------
    def _on_hall(self, hall: str, on: bool, cause: str) -> None:
        self.servers.on_hall(hall, on)

    def _servers_lost(self, node: str, share: float) -> None:
        i = self.tm.idx.get(node)
        if i is not None and self.tm.is_cache[i]:
            self.warm[i] *= 1.0 - share       # a cache that loses power loses its contents

    def _operator_shed(self, at: float) -> Generator[Any, Any, None]:
        """Operators turn shedding on: queues are cut to the shedding limit at once — the work
        queued beyond it is dropped (its callers see a failure), as the fast model's queue_step
        cuts the queue to its new limit."""
        yield self.env.timeout(at)
        self.shedding = True
        now = self.env.now
        for i, vf in enumerate(self.vfinish):
            if vf > now + SHED_WAIT_S:
                self.epoch[i] += 1
                self.vfinish[i] = -math.inf

    # ---- the step process: facility, capacity, breakers, consumers (every step_s) --------------
    def _steps(self) -> Generator[Any, Any, None]:
        s, tm, env = self.s, self.tm, self.env
        dt = s.step_s
        for k in range(s.steps + 1):
            if k:
                yield after_facility(env, dt)
                self.facility.advance(dt)
            if self.servers.dirty:
                self.servers.dirty = False
                for node, share in self.servers.availability().items():
                    i = tm.idx.get(node)
                    if i is not None:
                        self.avail[i] = share
                new_cap = [x * self.scale for x in tm.capacity_for(self.avail)]
                now = env.now
                for i, (old, new) in enumerate(zip(self.cap, new_cap)):
                    if new < old:
                        self.epoch[i] += 1          # the servers that held the queue are gone
                        self.vfinish[i] = -math.inf
                    elif new > old > 0.0 and self.vfinish[i] > now:
                        # more servers drain the queued work faster (requests already waiting
                        # keep their times; new arrivals see the shorter queue)
                        self.vfinish[i] = now + (self.vfinish[i] - now) * old / new
                self.cap = new_cap
                self.bank_s = [max(BANK_S, BANK_MIN / c) if c > 0 else 0.0 for c in new_cap]
            for i in range(tm.n):
                cap = self.cap[i]
                self.util[i] = self.arr_step[i] / (cap * dt) if cap > 0 else 0.0
                self.arr_step[i] = 0
            if s.circuit_breaker and k:
                self._update_breakers(env.now)
            if k:
                self._pace_consumers(dt)

    def _update_breakers(self, now: float) -> None:
        """Hystrix-style, per edge over the last step: open for BREAKER_OPEN_S when more than
        BREAKER_TRIP of the attempts failed, then let BREAKER_PROBE of the calls through."""
        for k in range(self.tm.e_count):
            att, fail = self.att_step[k], self.fail_step[k]
            self.att_step[k] = self.fail_step[k] = 0
            if self.breaker_until[k] > now:
                continue
            if att and fail / att > BREAKER_TRIP:
                self.breaker_until[k] = now + BREAKER_OPEN_S
                self.half_open[k] = True
            elif att and self.half_open[k]:
                self.half_open[k] = False

    def _pace_consumers(self, dt: float) -> None:
        """Log consumers pull the produced events plus the backlog, at most CONSUMER_HEADROOM of
        their capacity, slowing while their writes fail (as sim.engine paces them)."""
        self.backlog = max(0.0, self.backlog + self.produced_step - self.applied_step)
        produced_rate = self.produced_step / dt
        self.produced_step = self.applied_step = 0.0
        for c in self.consumer_classes:
            done, ok = self.consumer_done[c]
            self.consumer_done[c] = [0, 0]
            share = ok / done if done else 1.0
            self.pace[c] = min(1.0, max(0.05, 0.7 * self.pace[c] + 0.3 * share))
            cap = self.cap[self.tm.root[c]]
            self.consumer_rate[c] = min(produced_rate + self.backlog / dt, CONSUMER_HEADROOM * cap) * self.pace[c]

    # ---- traffic -----------------------------------------------------------------------------
    def _arrivals(self, c: int) -> Generator[Any, Any, None]:
        """Arrivals of one class: a renewal process with Erlang-k gaps, k = 1/rate_scale.

        Its counts vary as much, relative to their mean, as full-scale Poisson traffic does, so
        the reduced-rate run sees the full-scale system's (small) burstiness, not √(1/rate_scale)
        times more of it [assumption]. Consumers' rate is re-read at every arrival.
        """
        end = self.s.duration_min * 60.0
        rng, env, k = self.rng, self.env, self.erlang_k
        consumer = c in self.consumer_rate
        while True:
            rate = self.consumer_rate[c] if consumer else self.demand[c]
            if rate <= 1e-9:
                if not consumer:
                    return
                yield env.timeout(1.0)
            else:
                yield env.timeout(rng.gammavariate(k, 1.0 / (k * rate)))
                if env.now >= end:
                    return
                env.process(self._request(c))
            if env.now >= end:
                return

    def _request(self, c: int) -> Generator[Any, Any, None]:
        """One user request (or one consumer pull): walk the class's call tree from its root."""
        t0 = self.env.now
        self.requests += 1
        ok, full, _ = yield from self._node_calls(c, self._plan(c, self.tm.root[c]))
        if c in self.consumer_done:
            self.consumer_done[c][0] += 1
            if ok:
                self.consumer_done[c][1] += 1
                self.applied_step += 1.0
            return
        if ok:
            self.produced_step += self.tm.events_per_request[c]
        minute = int(t0 // 60.0)
        if minute < self.minutes:
            r = self.rec[c][minute]
            r[0] += 1
            if ok:
                r[1] += 1
                if full:
                    r[2] += 1

    def _plan(self, c: int, i: int) -> list[tuple[int, int]]:
        """The calls one request of class c makes at node i: (edge, fallback edge or -1) each.

        Fractional calls (cache misses, calls < 1) by error diffusion per (class, edge): the
        share is exact over any run of requests, without the sampling noise of a coin per request.
        """
        tm = self.tm
        todo = self.calls_at[c][i]
        if not todo:
            return todo
        plan: list[tuple[int, int]] = []
        is_cache, base = tm.is_cache[i], c * tm.e_count
        for k, fb in todo:
            calls = tm.calls[k]
            if is_cache and tm.cache_miss[k]:
                calls *= 1.0 - tm.hit_max[i] * self.warm[i]
            if calls == 1.0:
                plan.append((k, fb))
                continue
            acc = self.dither[base + k] + calls
            n = int(acc)
            self.dither[base + k] = acc - n
            plan.extend([(k, fb)] * n)
        return plan

    def _admit(self, i: int) -> float:
        """Admission at node i: the time until its answer leaves the node (queue wait + own
        service), or -1 if refused (no capacity) or -2 if rejected (queue full / shed)."""
        self.visits += 1
        self.arr_step[i] += 1
        cap = self.cap[i]
        if cap <= 0.0:
            return -1.0                             # nothing runs there: connection refused
        now = self.env.now
        vf = self.vfinish[i]
        bank = self.bank_s[i]
        vf = max(vf, now - bank)
        vf += 1.0 / cap
        wait = vf - now
        if wait > (SHED_WAIT_S if self.shedding else MAX_WAIT_S):
            return -2.0
        self.vfinish[i] = vf
        sigma = m.service_latency(BASE_SERVICE_S, self.util[i])
        service = sigma * math.sqrt(-2.0 * math.log(1.0 - self.rng.random()))    # Rayleigh(σ)
        return max(0.0, wait) + service

    def _fill(self, i: int, epoch: int, fill: int, _ev: Any = None) -> None:
        """A backend answer reaches the look-aside cache `fill` — even after its caller gave up."""
        if self.epoch[i] == epoch and self.avail[fill] > 0.0:    # a dark cache keeps nothing
            self.warm[fill] = m.warm_cache(self.warm[fill], 1.0, 1.0, self.cache_items[fill])

    def _attempt(self, c: int, k: int, fill: int) -> Generator[Any, Any, Outcome]:
        """One attempt of a call on edge k, waited for at most the edge's timeout.

        A node that makes no further calls for this request answers after a delay known at
        admission, so the caller just waits min(delay, timeout) — no process of its own. Otherwise
        the node serves the request in its own process, which carries on after the caller gives up
        (late work still loads the backends and fills caches).
        """
        env, tm = self.env, self.tm
        i = tm.dst[k]
        t_out = tm.timeout[k]
        delay = self._admit(i)
        if delay < 0.0:
            return (False, False, delay == -2.0 and self.shedding)
        epoch = self.epoch[i]
        plan = self._plan(c, i)
        if not plan:
            if delay <= t_out:
                yield env.timeout(delay)
                ok = self.epoch[i] == epoch         # else the server holding it lost power
                if ok and fill >= 0:
                    self._fill(i, epoch, fill)
                return (ok, ok, False)
            yield env.timeout(t_out)
            if fill >= 0:
                env.timeout(delay - t_out).callbacks.append(partial(self._fill, i, epoch, fill))
            return _FAIL
        done = env.event()
        env.process(self._serve(c, i, delay, epoch, plan, fill, done))
        env.timeout(t_out).callbacks.append(partial(_expire, done))
        out = yield done
        return out

    def _serve(self, c: int, i: int, delay: float, epoch: int, plan: list[tuple[int, int]], fill: int,
               done: _SimEvent) -> Generator[Any, Any, None]:
        yield self.env.timeout(delay)
        if self.epoch[i] != epoch:
            out = _FAIL                             # the server holding it lost power
        else:
            out = yield from self._node_calls(c, plan)
            if fill >= 0 and out[0]:
                self._fill(i, epoch, fill)
        if not done.triggered:
            done.succeed(out)

    def _node_calls(self, c: int, plan: list[tuple[int, int]]) -> Generator[Any, Any, Outcome]:
        """A node's calls for one request, one after another (latencies add, as in the fast
        model). Every call is made whatever its siblings returned, as in the fast model's load pass."""
        ok = full = True
        needed, fill_of = self.needed, self.fill_of
        for k, fb in plan:
            r_ok, r_full = yield from self._call(c, k, fill_of[k])
            if not r_ok and fb >= 0:
                r_ok, _ = yield from self._call(c, fb, -1)
                r_full = False                      # a fallback answers, but not personalised
            if not r_ok and needed[k]:
                ok = False
            if not (r_ok and r_full):
                full = False
        return (ok, ok and full, False)

    def _call(self, c: int, k: int, fill: int) -> Generator[Any, Any, tuple[bool, bool]]:
        """One call with its timeout and retry policy. Returns (ok, full quality).

        Attempts: at most max_retries + 1, none started after DEADLINE_TIMEOUTS × the timeout;
        backoff waits U(0, timeout·min(cap, base·2^n)) (full jitter); a budget retry costs a token that
        successes earn at RETRY_BUDGET_RATIO; a shed answer ("overloaded, do not retry") is final.
        """
        env, s = self.env, self.s
        t_out = self.tm.timeout[k]
        deadline = env.now + m.DEADLINE_TIMEOUTS * t_out
        attempts = self.max_attempts[k]
        breakers = s.circuit_breaker
        policy = s.retry_policy
        a = 0
        while True:
            if breakers and (self.breaker_until[k] > env.now
                             or (self.half_open[k] and self.rng.random() >= BREAKER_PROBE)):
                return False, False                 # open breaker: fail fast, no attempt
            self.att_step[k] += 1
            ok, full, shed = yield from self._attempt(c, k, fill)
            if ok:
                if policy == "budget":
                    self.bucket[k] = min(self.bucket_cap[k], self.bucket[k] + m.RETRY_BUDGET_RATIO)
                return True, full
            self.fail_step[k] += 1
            a += 1
            if a >= attempts or shed:
                return False, False
            if policy == "budget":
                if self.bucket[k] < 1.0:
                    return False, False
                self.bucket[k] -= 1.0
            elif policy == "backoff":
                yield env.timeout(self.rng.uniform(0.0, t_out * m.backoff_wait_max(a)))
            if env.now >= deadline:
                return False, False

    # ---- run and read out ---------------------------------------------------------------
    def run(self) -> dict[str, list[float]]:
        self.env.run(until=self.s.duration_min * 60.0 + DRAIN_S)
        tm = self.tm
        out: dict[str, list[float]] = {"minute": [float(x) for x in range(self.minutes)]}
        roles = feature_roles(self.g)
        for name in REFERENCE_METRICS:
            root = roles.get(_ROLE_OF[name])
            if root not in tm.class_of:
                continue
            rec = self.rec[tm.class_of[root]]
            col = 2 if name == "feed_personalization" else 1
            out[name] = [r[col] / r[0] if r[0] else math.nan for r in rec]
            out[f"requests_{root}"] = [float(r[0]) for r in rec]
        return out


def run_reference(scenario: Scenario, graph: nx.DiGraph | None = None,
                  rate_scale: float = 0.05) -> dict[str, list[float]]:
    """Request-level run of a scenario at `rate_scale` × the architecture's demand (capacities
    scaled alike). Returns per simulated minute (index = minute): login_success, upload_success,
    feed_personalization, feed_success, watch_success (NaN for a minute with no such request),
    `requests_<feature>` counts (to judge sampling noise) and `minute`. Seeded, deterministic."""
    return ReferenceRun(scenario, graph, rate_scale).run()


def fast_per_minute(timeline: Timeline, names: tuple[str, ...] = REFERENCE_METRICS) -> dict[str, list[float]]:
    """The fast model's metrics averaged per simulated minute, aligned with `run_reference`.

    The step recorded at t covers [t, t + step) (its availability is sampled at t), so minute k
    is the mean of the steps with k·60 ≤ t < (k + 1)·60; the final instant t = duration is dropped.
    """
    minutes = math.ceil(timeline.scenario.duration_min)
    out: dict[str, list[float]] = {"minute": [float(x) for x in range(minutes)]}
    for name in names:
        sums = [0.0] * minutes
        counts = [0] * minutes
        for t, v in zip(timeline.t_s, timeline.metrics[name]):
            k = int(t // 60.0)
            if k < minutes and not math.isnan(v):
                sums[k] += v
                counts[k] += 1
        out[name] = [x / n if n else math.nan for x, n in zip(sums, counts)]
    return out


def fast_band(timeline: Timeline, lead_s: float, lag_s: float,
              names: tuple[str, ...] = COMPARED) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per minute, the lowest and highest of the fast model's minute means when its timeline
    is shifted earlier by up to `lead_s` or later by up to `lag_s` (whole steps).

    Why: the fast model places a change to within one step, and it books a request's outcome in
    the step it arrives, while a reference request that starts before a change can retry into
    it (for up to its deadline) and is booked in the minute it started. Away from changes the
    band is a point; at a change it spans the minute means those timing offsets allow.
    """
    step = timeline.scenario.step_s
    shifts = range(-int(round(lag_s / step)), int(round(lead_s / step)) + 1)
    minutes = math.ceil(timeline.scenario.duration_min)
    lo: dict[str, list[float]] = {}
    hi: dict[str, list[float]] = {}
    for name in names:
        vals = timeline.metrics[name]
        last = len(vals) - 1
        per_shift = []
        for sh in shifts:
            sums, counts = [0.0] * minutes, [0] * minutes
            for j, t in enumerate(timeline.t_s):
                k = int(t // 60.0)
                v = vals[min(max(j + sh, 0), last)]
                if k < minutes and not math.isnan(v):
                    sums[k] += v
                    counts[k] += 1
            per_shift.append([x / n if n else math.nan for x, n in zip(sums, counts)])
        lo[name] = [min(col) for col in zip(*per_shift)]
        hi[name] = [max(col) for col in zip(*per_shift)]
    return lo, hi


def compare(fast: dict[str, list[float]], ref: dict[str, list[float]],
            names: tuple[str, ...] = COMPARED) -> dict[str, list[float]]:
    """|fast − reference| per minute for each metric (NaN where the reference had no request)."""
    return {n: [math.nan if math.isnan(a) or math.isnan(b) else abs(a - b) for a, b in zip(fast[n], ref[n])]
            for n in names}


__all__ = ["COMPARED", "REFERENCE_METRICS", "ReferenceRun", "compare", "fast_band", "fast_per_minute", "run_reference"]
