"""The rate model: traffic through the dependency graph, one time step at a time.

Request-by-request simulation is too slow for hours of traffic at interactive speed, so traffic
is a set of rates. Each user feature (and each log consumer) is a *class* whose requests follow
its own call tree; nodes share capacity between classes. A step makes two passes over the call
graph in topological order: top-down for load (retries, cache misses, fallbacks, breakers,
shedding, queues) and bottom-up for success and latency (timeouts, retries, fallbacks).
Retries and cache fills feed on the previous step's outcome — that feedback is what makes a
failure outlast its trigger. Plain Python over the (class, edge) pairs in use: for graphs of
tens of nodes this is several times faster than small numpy arrays. From VECTOR_MIN_NODES traffic
nodes the step runs over arrays instead: these loops compiled by numba (sim.compiled), equal to this
path bit for bit, or — without numba — in numpy one topological level at a time (sim.vector), the
same model agreeing with this path to rounding, not bit for bit. The examples and their goldens
never take either.
"""

from __future__ import annotations

import math
from math import exp
from typing import Any, NamedTuple

import networkx as nx

from . import compiled
from . import mechanisms as m
from . import vector
from .architecture import TRAFFIC_KINDS
from .clock import State
from .scenario import Scenario

BASE_SERVICE_S = 0.03           # [assumption] a node's own service time when idle
BACKEND_KINDS = ("datastore", "cache", "queue")
BREAKER_OPEN_S = 30.0           # [assumption] Hystrix-style: open for 30 s, then probe
BREAKER_TRIP = 0.5              # open when half of the calls in the window fail
BREAKER_PROBE = 0.1             # share of calls let through while half-open
HUGE = 1e12
LATE_NEGLIGIBLE = 8.5           # timeout ≥ 8.5 × mean latency: late share < 1e-15
VECTOR_MIN_NODES = 200          # from this many traffic nodes the step runs in numpy (sim.vector)


def _warm_integral(h: float, target: float = 0.95) -> float:
    """∫0..target dx / ((1 − h·x)(1 − x)): warm-up time × fill rate / working set."""
    if h <= 1e-9:
        return -math.log(1.0 - target)
    return (math.log(1.0 - h * target) - math.log(1.0 - target)) / (1.0 - h)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


class Plan(NamedTuple):
    """The per-step loops of one retry policy, flattened (TrafficModel._plan)."""

    policy: str
    allowed: float
    edge_allowed: list[float]
    deadline_cap: bool
    td_plan: list[Any]
    bu_plan: list[Any]


class TrafficModel:
    def __init__(self, graph: nx.DiGraph, scenario: Scenario, vectorised: bool | None = None,
                 use_compiled: bool | None = None) -> None:
        """`vectorised`: step over arrays; by default from VECTOR_MIN_NODES traffic nodes, so the
        examples and their goldens keep the pure path's exact arithmetic. Over arrays the step is
        compiled (sim.compiled) when numba is installed, numpy's (sim.vector) otherwise or when
        `use_compiled` is False."""
        self.s = scenario
        self.vp: vector.VectorPlan | None = None
        self.ka: compiled.ModelArrays | None = None
        self.prepare_s = 0.0                # seconds spent compiling the step in this process (once)
        ids = [n for n, d in graph.nodes(data=True) if d["kind"] in TRAFFIC_KINDS]
        self.ids = ids
        self.idx = idx = {n: i for i, n in enumerate(ids)}
        n = self.n = len(ids)
        nodes = [graph.nodes[i] for i in ids]
        self.kind = [d["kind"] for d in nodes]
        self.is_feature = [k == "feature" for k in self.kind]
        self.is_cache = [k == "cache" for k in self.kind]
        self.primary = [d.get("site") == "primary" for d in nodes]
        self.secondary = [bool(d.get("secondary", False)) for d in nodes]
        self.cap_x = [float(d.get("capacity", 1.0)) for d in nodes]
        self.hit_max = [float(d.get("hit_ratio", 0.0)) for d in nodes]

        edges = [(u, v, d) for u, v, d in graph.edges(data=True) if d["kind"] in ("call", "fallback")]
        self.edge_ids = [(u, v) for u, v, _ in edges]
        e_count = self.e_count = len(edges)
        self.src = [idx[u] for u, _, _ in edges]
        self.dst = [idx[v] for _, v, _ in edges]
        self.calls = [float(d.get("calls", 1.0)) for _, _, d in edges]
        self.is_fb = [d["kind"] == "fallback" for _, _, d in edges]
        self.required = [bool(d.get("required", True)) and d["kind"] == "call" for _, _, d in edges]
        self.retry = [bool(d.get("retry", False)) for _, _, d in edges]
        self.timeout = [float(d.get("timeout_s") or scenario.timeout_s) for _, _, d in edges]
        self.cache_miss = [bool(d.get("cache_miss", False)) for _, _, d in edges]
        self.to_backend = [self.kind[v] in BACKEND_KINDS for v in self.dst]
        eidx = {e: k for k, e in enumerate(self.edge_ids)}
        self.fb_edge = [-1] * e_count           # call edge -> its fallback edge
        self.primary_of_fb = [-1] * e_count     # fallback edge -> the call it stands in for
        for k, (u, _, d) in enumerate(edges):
            if d["kind"] == "call" and d.get("fallback"):
                j = eidx[(u, d["fallback"])]
                self.fb_edge[k], self.primary_of_fb[j] = j, k

        # Classes: every feature, and every consumer of a durable log (a pull-based reader).
        roots = [i for i in ids if graph.nodes[i]["kind"] == "feature"]
        self.consumers = [i for i in ids if graph.nodes[i].get("consumes")]
        roots += self.consumers
        self.class_ids = roots
        self.class_of = {r: c for c, r in enumerate(roots)}
        c_count = self.c_count = len(roots)
        self.root = [idx[r] for r in roots]
        out_edges: list[list[int]] = [[] for _ in range(n)]
        for k in range(e_count):
            out_edges[self.src[k]].append(k)
        use = [[False] * e_count for _ in range(c_count)]
        for c, r in enumerate(roots):
            is_feature = graph.nodes[r]["kind"] == "feature"
            stack, seen = [idx[r]], set()
            while stack:
                u = stack.pop()
                if u in seen:
                    continue
                seen.add(u)
                for k in out_edges[u]:
                    feats = edges[k][2].get("features", ())
                    if self.is_fb[k] or (feats and (not is_feature or r not in feats)):
                        continue
                    use[c][k] = True
                    stack.append(self.dst[k])
                    if self.fb_edge[k] >= 0:
                        use[c][self.fb_edge[k]] = True
                        stack.append(self.dst[self.fb_edge[k]])
        self.use = use
        self.demand_base = [float(graph.nodes[r].get("demand", 0.0)) for r in roots]
        self.events_per_request = [float(graph.nodes[r].get("events_per_request", 0.0)) for r in roots]

        call_graph = nx.DiGraph()
        call_graph.add_nodes_from(range(n))
        call_graph.add_edges_from(zip(self.src, self.dst))
        self.order = list(nx.lexicographical_topological_sort(call_graph))
        # Per node: the classes whose requests reach it, and its used (class, edge) pairs,
        # fallback edges first so the bottom-up pass knows a fallback's outcome before its call.
        self.classes_at: list[list[int]] = [[] for _ in range(n)]
        for c in range(c_count):
            reached = {self.root[c]} | {self.dst[k] for k in range(e_count) if use[c][k]}
            for i in sorted(reached):
                self.classes_at[i].append(c)
        self.pairs: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.pairs_by_class: list[dict[int, list[int]]] = [dict() for _ in range(n)]
        for i in range(n):
            ks = sorted(out_edges[i], key=lambda k: (not self.is_fb[k], k))
            for c in self.classes_at[i]:
                used = [k for k in ks if use[c][k]]
                self.pairs_by_class[i][c] = used
                self.pairs[i].extend((c, k) for k in used)
        # Classes whose requests use the same calls below a node (the same "subtree") get the same
        # numbers there: success, quality, latency per class and per call, and the retry factors of
        # the next step's loads. The passes compute them once per distinct subtree, for its lowest
        # class (the representative), and copy them to the others; sums over classes still run over
        # every class in class order, so results are the same to the last bit. With many features
        # over a shared backend (every feature reaching most nodes), this turns classes × calls of
        # that work into about calls.
        sig_of: dict[tuple[int, int], int] = {}
        sig_ids: dict[tuple[Any, ...], int] = {}
        self.rep: list[dict[int, int]] = [dict() for _ in range(n)]    # node → class → its representative
        for i in reversed(self.order):
            first: dict[int, int] = {}
            for c in self.classes_at[i]:
                key = (i, tuple((k, sig_of[(c, self.dst[k])]) for k in self.pairs_by_class[i][c]))
                sig = sig_ids.setdefault(key, len(sig_ids))
                sig_of[(c, i)] = sig
                self.rep[i][c] = first.setdefault(sig, c)

        # One plan of the per-step loops per retry policy in use: the scenario's, and "budget" when a
        # `retry_budget` intervention can switch clients to it mid-run (st.policy says which is in force).
        self.plans = {p: self._plan(p) for p in dict.fromkeys(
            [scenario.retry_policy] + (["budget"] if scenario.retry_policy != "none" and any(
                a.kind == "retry_budget" for a in scenario.actions) else []))}
        first = self.plans[scenario.retry_policy]
        self.allowed, self.edge_allowed, self.deadline_cap = first.allowed, first.edge_allowed, first.deadline_cap
        # Healthy baseline: loads at normal traffic with everything up; capacities scale from it.
        self.L0 = [1.0] * n
        self.reset()
        self._baseline = True
        self.step(1.0, [1.0] * n, self.normal_demand(1.0), shedding=False, breakers=False)
        self._baseline = False
        L0 = list(self.st.arrivals_total)
        # A fallback target is sized for the call it stands in for, not for its idle baseline.
        for k in range(e_count):
            if self.fb_edge[k] >= 0:
                j = self.fb_edge[k]
                L0[self.dst[j]] += sum(self.st.edge_load[c * e_count + k] for c in range(c_count))
        self.L0 = [max(x, 1e-6) for x in L0]
        self.reset()
        warm_s = scenario.cache_warmup_min * 60.0
        # Working set, in fills: a cold cache at normal load whose every miss is filled reaches
        # 95 % of its hit ratio in cache_warmup_min (solving dx/dt = L0·(1 − h·x)(1 − x)/items).
        self.cache_items = [max(self.L0[i] * warm_s / _warm_integral(self.hit_max[i]), 1e-6) for i in range(n)]
        if vectorised if vectorised is not None else n >= VECTOR_MIN_NODES:
            vector.to_arrays(self.st)               # the healthy baseline above ran the pure path
            if compiled.available() if use_compiled is None else use_compiled and compiled.available():
                self.ka = compiled.ModelArrays(self)
                self.prepare_s = compiled.compile_for(self, self.ka)     # ka is None if it cannot compile
            if self.ka is None:
                self.vp = vector.VectorPlan(self)

    def _plan(self, policy: str) -> Plan:
        """Flatten the per-step loops into tuples of indices and constants (fast inner loops)."""
        n, e = self.n, self.e_count
        allowed = m.attempts_allowed(policy, self.s.max_retries)
        edge_allowed = [allowed if r else 1 for r in self.retry]
        # Immediate and budget retries: how many fit the deadline depends on how fast failures come
        # back, which changes step by step (st.allowed); backoff's count is fixed by its waits.
        # (With max_retries + 1 ≤ DEADLINE_TIMEOUTS every attempt always fits: nothing to follow.)
        deadline_cap = (policy in ("immediate", "budget") and allowed > 1
                        and self.s.max_retries + 1 > m.DEADLINE_TIMEOUTS)
        td_plan = []
        for i in self.order:
            rep = self.rep[i]
            heavy, light = [], []
            for c, k in self.pairs[i]:
                r = rep[c]
                if r == c:
                    prim = self.primary_of_fb[k]
                    heavy.append((c * e + k, k, self.is_fb[k], c * e + prim if prim >= 0 else -1,
                                  self.calls[prim] if prim >= 0 else 0.0, self.calls[k], self.cache_miss[k],
                                  edge_allowed[k] > 1))
                light.append((c * e + k, c * n + i, c * n + self.dst[k], k, r * e + k, edge_allowed[k] > 1,
                              self.to_backend[k]))
            if all(rep[c] == c for c in self.classes_at[i]):    # nothing shared here: one loop
                heavy = [h[:2] + (c * e + k, c * n + i, c * n + self.dst[k]) + h[2:] + (self.to_backend[k],)
                         for h, (c, k) in zip(heavy, self.pairs[i])]
                light = []
            td_plan.append((i, [c * n + i for c in self.classes_at[i]], heavy, light))
        self.cache_plan = [(self.src[k], self.dst[k],
                            [(c * e + k, c * n + self.dst[k]) for c in range(self.c_count) if self.use[c][k]])
                           for k in range(e) if self.cache_miss[k]]
        # Caches in front of each node (for the "its cache is cold" cause).
        self.caches_of: dict[int, list[int]] = {self.dst[k]: [] for k in range(e) if self.cache_miss[k]}
        for k in range(e):
            if self.cache_miss[k]:
                self.caches_of[self.dst[k]].append(self.src[k])
        bu_plan = []
        for i in reversed(self.order):
            rep = self.rep[i]
            groups, members = [], []
            for c, ks in self.pairs_by_class[i].items():
                r = rep[c]
                if r == c:
                    edges = []
                    for k in ks:
                        fb = self.fb_edge[k]
                        budget = policy == "budget" and self.retry[k]
                        mode = 2 if budget else (1 if edge_allowed[k] > 1 else 0)
                        edges.append((c * e + k, c * n + self.dst[k], self.dst[k], k, self.timeout[k],
                                      edge_allowed[k] > 1, self.is_fb[k], c * e + fb if fb >= 0 else -1,
                                      self.required[k] or fb >= 0, self.calls[k], mode))
                    groups.append((c * n + i, edges))
                members.append((c * n + i, r * n + i,
                                [(c * e + k, r * e + k, k, self.dst[k],
                                  bool(policy == "budget" and self.retry[k]) or edge_allowed[k] > 1) for k in ks]))
            leaf = [c * n + i for c in self.classes_at[i]] if not self.pairs_by_class[i] else []
            fused = all(ci == ri for ci, ri, _ in members)      # nothing to copy: sums in the one loop
            bu_plan.append((i, groups, [] if fused else members, leaf, fused))
        return Plan(policy, allowed, edge_allowed, deadline_cap, td_plan, bu_plan)

    @property
    def over_arrays(self) -> bool:
        """Whether the step runs over arrays (compiled or numpy): the state's fields are numpy arrays."""
        return self.ka is not None or self.vp is not None

    def plan(self) -> Plan:
        """The loops of the retry policy in force."""
        return self.plans[self.st.policy]

    def set_policy(self, policy: str) -> None:
        """Clients switch retry policy (a `retry_budget` config push, or its removal)."""
        if policy not in self.plans or policy == self.st.policy:
            return
        old, new = self.plans[self.st.policy], self.plans[policy]
        self.st.policy = policy
        if old.edge_allowed != new.edge_allowed:
            self.st.allowed = [float(x) for x in new.edge_allowed]

    def fail_over(self, nodes: list[bool]) -> None:
        """Which nodes' traffic goes (also) to another site's spare capacity (`failover` in force)."""
        if nodes != self.st.failover:
            self.st.failover = list(nodes)
            self.st.cap_dirty = True

    def warm_caches(self) -> None:
        """Operators pre-load every cache that has running servers (from a snapshot) [assumption]."""
        powered = self.st.cap_avail
        for i in range(self.n):
            if self.is_cache[i] and (powered is None or powered[i] > 0.0):
                self.st.warm[i] = 1.0

    # ---- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        c, n, e = self.c_count, self.n, self.e_count
        self.st = State(
            queue=[0.0] * n,
            warm=[1.0] * n,                 # share of each cache's working set held
            p_att=[1.0] * (c * e),          # per-attempt success, last step
            s_call=[1.0] * (c * e),         # per-call success after retries, last step
            node_ok=[1.0] * n,
            p_retry=[1.0] * (c * e),        # 1 − per-attempt probability of a failure the client retries
            allowed=[float(x) for x in self.edge_allowed],  # attempts per call that fit the deadline
            policy=self.s.retry_policy,     # the retry policy in force (`retry_budget` switches it)
            failover=[False] * n,           # traffic also sent to another site (`failover`)
            breaker_until=[-1.0] * e,       # open until this time (s)
            half_open=[False] * e,
            now=0.0,
            capacity=[],
            arrivals=[],
            arrivals_total=[0.0] * n,
            edge_load=[0.0] * (c * e),
            edge_load1=[0.0] * (c * e),
            calls_eff=[0.0] * (c * e),
            send=[1.0] * e,
            amplification=1.0,
            own_ok=[1.0] * n,
            util=[0.0] * n,
            wait=[0.0] * n,
            succ=[1.0] * (c * n),
            qual=[1.0] * (c * n),
            lat=[0.0] * (c * n),
            edge_fail=[0.0] * e,
            cap_avail=None,                 # the availability the capacities were computed for
            cap_mult=[1.0] * n,             # capacity left by `capacity_loss` interventions
            extra_lat=[0.0] * e,            # seconds added to each call by `latency` interventions
            cap_dirty=True,
        )
        if self.over_arrays:
            vector.to_arrays(self.st)

    def __getattr__(self, name: str) -> Any:
        """The state's values read as the model's (model.succ, model.util …)."""
        if name == "st":
            raise AttributeError(name)
        try:
            return getattr(self.st, name)
        except AttributeError:
            raise AttributeError(f"TrafficModel has no attribute {name!r}") from None

    def set_interventions(self, cap_mult: list[float], extra_lat: list[float]) -> None:
        """Capacity left per node and seconds added per call, from the interventions in force."""
        self.st.cap_mult, self.st.extra_lat = list(cap_mult), list(extra_lat)
        self.st.cap_dirty = True

    def normal_demand(self, scale: float) -> list[float]:
        """Requests/s per class at `scale` × normal traffic (consumers at the normal event rate)."""
        d = [b * scale for b in self.demand_base]
        for r in self.consumers:
            d[self.class_of[r]] = self.event_rate(scale)
        return d

    def event_rate(self, scale: float) -> float:
        """Durable-log events per second produced by users at `scale` × normal traffic."""
        return sum(b * e for b, e in zip(self.demand_base, self.events_per_request)) * scale

    def capacity_for(self, avail: list[float]) -> list[float]:
        """Requests/s each node can serve: its powered, booted share at the primary site plus the
        secondary site's warm copy, sized at failover_headroom × its normal load [assumption]."""
        h = self.s.failover_headroom
        return [HUGE if f else (x * l0 * a + (h * l0 if sec or fo else 0.0)) * cm
                for f, x, l0, a, sec, cm, fo in zip(self.is_feature, self.cap_x, self.L0, avail, self.secondary,
                                                    self.st.cap_mult, self.st.failover)]

    def hit_ratio(self, i: int) -> float:
        return self.hit_max[i] * self.st.warm[i]

    # ---- one step ------------------------------------------------------------------------
    def step(self, dt: float, avail: list[float], demand: list[float], shedding: bool, breakers: bool) -> None:
        if self.ka is not None and not self._baseline:
            compiled.step(self, self.ka, dt, avail, demand, shedding, breakers)
            return
        if self.vp is not None and not self._baseline:
            vector.step(self, self.vp, dt, avail, demand, shedding, breakers)
            return
        n, e_count = self.n, self.e_count
        st = self.st
        plan = self.plans[st.policy]
        policy = plan.policy
        if self._baseline:
            cap = [HUGE] * n
        elif st.cap_dirty or avail != st.cap_avail:
            cap = self.capacity_for(avail)
            st.cap_avail, st.cap_dirty = list(avail), False
        else:
            cap = st.capacity
        st.capacity = cap
        now = self.st.now
        send = [1.0] * e_count
        if breakers:
            for k in range(e_count):
                if self.st.breaker_until[k] > now:
                    send[k] = 0.0
                elif self.st.half_open[k]:
                    send[k] = BREAKER_PROBE
        self.st.send = send
        p_prev, s_prev = self.st.p_retry, self.st.s_call

        # Top-down: load.
        c_count = self.c_count
        arr = [0.0] * (c_count * n)
        arr1 = [0.0] * (c_count * n)            # the same without retries, for amplification
        for c in range(c_count):
            arr[c * n + self.root[c]] = demand[c]
            arr1[c * n + self.root[c]] = demand[c]
        queue, own_ok, util, wait = self.st.queue, [1.0] * n, [0.0] * n, [0.0] * n
        a_tot = [0.0] * n
        eload = [0.0] * (c_count * e_count)
        eload1 = [0.0] * (c_count * e_count)
        calls_eff = [0.0] * (c_count * e_count)
        amp_total = amp_first = 0.0
        queue_step = m.queue_step
        is_cache, hit_max, warm = self.is_cache, self.hit_max, self.st.warm
        allowed_now = st.allowed
        budget = policy == "budget"
        t_calls = [0.0] * (c_count * e_count)  # per representative (class, call): calls per request …
        t_att = [1.0] * (c_count * e_count)    # … and attempts per call
        for i, cis, heavy, light in plan.td_plan:
            a = 0.0
            for ci in cis:
                a += arr[ci]
            a_tot[i] = a
            cap_i = cap[i]
            if a <= cap_i and queue[i] == 0.0:
                admitted = served = a            # the healthy case: what queue_step returns here
            else:
                admitted, served, queue[i], wait[i] = queue_step(queue[i], a, cap_i, dt, shedding)
            util[i] = a / cap_i if cap_i > 0 else (math.inf if a > 0 else 0.0)
            if a > 0:
                own_ok[i] = admitted / a
                ratio = served / a
            else:
                own_ok[i] = 1.0 if cap_i > 0 else 0.0
                ratio = 0.0
            if not heavy:
                continue
            miss = 1.0 - hit_max[i] * warm[i] if is_cache[i] else 1.0
            if not light:       # every class its own representative: the loads at once
                for ck, k, _, ci, cd, is_fb, prim_ck, calls_prim, calls_k, cache_miss, retried, backend in heavy:
                    if is_fb:
                        calls = calls_prim * (1.0 - s_prev[prim_ck])
                    elif cache_miss:
                        calls = calls_k * miss
                    else:
                        calls = calls_k
                    if breakers:
                        calls *= send[k]
                    calls_eff[ck] = calls
                    base1 = arr1[ci] * ratio * calls
                    base = arr[ci] * ratio * calls
                    if retried and p_prev[ck] != 1.0:    # no failures last step: one attempt
                        f = 1.0 - p_prev[ck]                # m.policy_attempts, inline (same arithmetic)
                        r1 = (allowed_now[k] - 1) + 1.0
                        att = r1 if f >= 1.0 - 1e-12 else (1.0 - f ** r1) / (1.0 - f)
                        if budget:
                            cap_b = 1.0 + m.RETRY_BUDGET_RATIO * (1.0 - f)
                            att = cap_b if cap_b < att else att
                        base *= att
                    eload[ck] = base
                    eload1[ck] = base1
                    arr[cd] += base
                    arr1[cd] += base1
                    if backend:
                        amp_total += base
                        amp_first += base1
                continue
            for rk, k, is_fb, prim_ck, calls_prim, calls_k, cache_miss, retried in heavy:
                if is_fb:
                    calls = calls_prim * (1.0 - s_prev[prim_ck])
                elif cache_miss:
                    calls = calls_k * miss
                else:
                    calls = calls_k
                if breakers:
                    calls *= send[k]
                t_calls[rk] = calls
                if retried and p_prev[rk] != 1.0:
                    f = 1.0 - p_prev[rk]                    # m.policy_attempts, inline (same arithmetic)
                    r1 = (allowed_now[k] - 1) + 1.0
                    att = r1 if f >= 1.0 - 1e-12 else (1.0 - f ** r1) / (1.0 - f)
                    if budget:
                        cap_b = 1.0 + m.RETRY_BUDGET_RATIO * (1.0 - f)
                        att = cap_b if cap_b < att else att
                    t_att[rk] = att
            for ck, ci, cd, k, rk, retried, backend in light:
                calls = t_calls[rk]
                calls_eff[ck] = calls
                base1 = arr1[ci] * ratio * calls
                base = arr[ci] * ratio * calls
                if retried:
                    base *= t_att[rk]
                eload[ck] = base
                eload1[ck] = base1
                arr[cd] += base
                arr1[cd] += base1
                if backend:
                    amp_total += base
                    amp_first += base1
        self.st.amplification = amp_total / amp_first if amp_first > 0 else 1.0
        self.st.arrivals, self.st.arrivals_total = arr, a_tot
        self.st.edge_load, self.st.edge_load1, self.st.calls_eff = eload, eload1, calls_eff
        self.st.own_ok, self.st.util, self.st.wait = own_ok, util, wait

        # Bottom-up: success, quality (no fallback used) and latency per class.
        succ = [1.0] * (c_count * n)
        qual = [1.0] * (c_count * n)
        lat = [0.0] * (c_count * n)
        lok = [0.0] * (c_count * n)             # latency of the requests that succeed
        p_att = [1.0] * (c_count * e_count)
        p_retry = [1.0] * (c_count * e_count)
        s_call = [1.0] * (c_count * e_count)
        e_load = [0.0] * e_count
        e_fail = [0.0] * e_count
        ok_sum = [0.0] * n
        best = [0.0] * n
        backoff = policy == "backoff"
        capped = plan.deadline_cap
        f_time = [0.0] * e_count if capped else None     # time and share of retried failures per call
        f_all = [0.0] * e_count if capped else None
        extra_lat = st.extra_lat
        slowed = any(extra_lat)
        service_latency = m.service_latency
        budget_call_success = m.budget_call_success
        f_x = [0.0] * (c_count * e_count) if capped else None   # per representative (class, call)
        f_rx = [0.0] * (c_count * e_count) if capped else None
        for i, groups, members, leaf, fused in plan.bu_plan:
            u = util[i]
            own_lat = service_latency(BASE_SERVICE_S, u if u < 1.0 else 1.0) + wait[i]
            for ci in leaf:
                lat[ci] = lok[ci] = own_lat
            for ci, edges in groups:              # one per distinct subtree: its representative class
                s_i, q_i, lat_i, lok_i = 1.0, 1.0, own_lat, own_lat
                for ck, cd, d, k, t_out, retried, is_fb, fb_ck, needed, calls_k, mode in edges:
                    allowed = allowed_now[k] if retried else 1.0
                    lat_d, lok_d = lat[cd], lok[cd]
                    if slowed:                              # a `latency` intervention in force
                        lat_d += extra_lat[k]
                        lok_d += extra_lat[k]
                    s_d = succ[cd]
                    # Fast path: responses far inside the timeout are never late.
                    if lok_d * LATE_NEGLIGIBLE < t_out:
                        fine = s_d
                    else:                                   # m.late_share, inline (same arithmetic)
                        r = t_out / lok_d if lok_d > 1e-9 else 40.0
                        fine = s_d * (1.0 - (exp(-0.5 * r * r) if r < 40.0 else 0.0))
                    # An open or half-open breaker fails the calls it does not let through, at once.
                    gate = send[k] if breakers else 1.0
                    open_ = gate < 1.0
                    pa_sent = own_ok[d] * fine              # per attempt actually sent
                    pa = gate * pa_sent
                    # A shed request comes back as "overloaded, do not retry" (HTTP 429 / gRPC
                    # RESOURCE_EXHAUSTED): it ends the call. Clients retry only the other failures.
                    shed = gate * (1.0 - own_ok[d]) if shedding else 0.0
                    rx = 1.0 - pa - shed                     # a failure the client retries
                    p_retry[ck] = 1.0 - rx
                    if allowed > 1.0:                       # expected attempts: (1 − x^A) / (1 − x)
                        tries = allowed if rx >= 1.0 - 1e-12 else (1.0 - rx ** allowed) / (1.0 - rx)
                    else:
                        tries = 1.0
                    if mode == 0:
                        sc = pa
                    elif mode == 1:
                        sc = pa * tries
                    else:
                        sc = budget_call_success(pa, rx)
                    if capped and mode:                     # how long the retried failures take
                        # rejected or blocked: at once; the callee's failure: its latency; late: a timeout
                        f_x[ck] = (1.0 - s_d) * (lat_d if lat_d < t_out else t_out) / t_out + (s_d - fine)
                        f_rx[ck] = rx
                        if fused:
                            load_k = eload[ck]
                            if load_k:
                                f_time[k] += load_k * gate * own_ok[d] * f_x[ck]
                                f_all[k] += load_k * rx
                    # Full quality: a caller stops at its first answer, degraded or not, so the
                    # share of full answers is the callee's among its successes (no "retry until
                    # personalised").
                    q_d = qual[cd]
                    sq = sc if q_d == s_d else (sc * q_d / s_d if s_d > 1e-12 else 0.0)
                    p_att[ck] = pa_sent                     # breakers judge the calls they let through
                    s_call[ck] = sc
                    if fused:
                        x = eload[ck]
                        if x:
                            e_load[k] += x
                            e_fail[k] += x * (1.0 - sc)
                    if is_fb:
                        continue
                    q = (calls_eff[ck] / gate if gate > 0.0 else calls_k) if open_ else calls_eff[ck]
                    eff = sc + (1.0 - sc) * s_call[fb_ck] if fb_ck >= 0 else sc
                    factor = eff if needed else 1.0
                    if q <= 1.0:
                        s_i *= 1.0 - q * (1.0 - factor)
                        q_i *= 1.0 - q * (1.0 - sq)
                    else:
                        s_i *= factor ** q
                        q_i *= sq ** q
                    # an attempt the callee rejects (queue full, no capacity) comes back at once
                    t_att = own_ok[d] * (lat_d if lat_d < t_out else t_out)
                    lat_call = tries * t_att
                    if backoff:
                        lat_call += m.backoff_mean_wait(tries) * t_out
                    lat_i += q * lat_call
                    if sc > 0.999999:
                        lok_i += q * lok_d
                    else:   # among the requests that succeed, the share that made this call
                        w = q * factor / (1.0 - q * (1.0 - factor)) if q < 1.0 else q
                        # m.failures_before_success and m.answered_latency, inline (same arithmetic)
                        if rx <= 1e-12:
                            fbs = 0.0
                        elif rx >= 1.0 - 1e-9:
                            fbs = (allowed - 1.0) / 2.0
                        else:
                            fa = rx ** allowed
                            fbs = rx * (1.0 - allowed * rx ** (allowed - 1.0) + (allowed - 1.0) * fa) / (
                                (1.0 - rx) * (1.0 - fa))
                        rescued = factor - sc
                        total = sc + rescued
                        if total <= 1e-12:
                            lok_i += w * lat_call
                        else:
                            ok = (lok_d if lok_d < t_out else t_out) + fbs * t_att
                            lok_i += w * ((sc * ok + rescued * lat_call) / total)
                succ[ci], qual[ci], lat[ci], lok[ci] = s_i, q_i, lat_i, lok_i
                if fused:
                    ok_sum[i] += arr[ci] * s_i
                    best[i] = s_i if s_i > best[i] else best[i]
            for ci, ri, edges in members:           # every class, in class order: copies and sums
                if ci != ri:
                    succ[ci], qual[ci], lat[ci], lok[ci] = succ[ri], qual[ri], lat[ri], lok[ri]
                s_i = succ[ri]
                for ck, rk, k, d, mode in edges:
                    if ck != rk:
                        p_retry[ck], p_att[ck], s_call[ck] = p_retry[rk], p_att[rk], s_call[rk]
                    x = eload[ck]
                    if x:
                        e_load[k] += x
                        e_fail[k] += x * (1.0 - s_call[rk])
                        if capped and mode:
                            f_time[k] += x * (send[k] if breakers else 1.0) * own_ok[d] * f_x[rk]
                            f_all[k] += x * f_rx[rk]
                ok_sum[i] += arr[ci] * s_i
                best[i] = s_i if s_i > best[i] else best[i]
        self.st.succ, self.st.qual, self.st.lat = succ, qual, lat
        # Share of requests reaching each node that it completes (itself and its calls).
        self.st.node_ok = [(ok_sum[i] / a_tot[i] if a_tot[i] > 0 else (best[i] if self.pairs[i] else 1.0))
                        * own_ok[i] for i in range(n)]
        self.st.p_att, self.st.s_call, self.st.p_retry = p_att, s_call, p_retry
        if capped and not self._baseline:
            # Next step's attempts per call: as many as fit the deadline at the mean time this step's
            # retried failures took (as if all timed out when there were none).
            r, calm = self.s.max_retries, plan.allowed
            st.allowed = [(m.attempts_in_deadline(r, min(1.0, f_time[k] / f_all[k])) if f_all[k] > 1e-12 else calm)
                          if self.retry[k] else 1.0 for k in range(e_count)]
        self.st.edge_fail = [1.0 if send[k] == 0.0 else (e_fail[k] / e_load[k] if e_load[k] > 0 else 0.0)
                          for k in range(e_count)]
        if not self._baseline:
            if breakers:
                self._update_breakers()
            self._update_caches(dt)
        self.st.now += dt

    def _update_breakers(self) -> None:
        e_count, now = self.e_count, self.st.now
        for k in range(e_count):
            load = fail = 0.0
            for c in range(self.c_count):
                x = self.st.edge_load[c * e_count + k]
                load += x
                fail += x * (1.0 - self.st.p_att[c * e_count + k])
            if self.st.breaker_until[k] > now:
                continue
            if load > 0 and fail / load > BREAKER_TRIP:
                self.st.breaker_until[k] = now + BREAKER_OPEN_S
                self.st.half_open[k] = True
            elif load > 0 and self.st.half_open[k]:
                self.st.half_open[k] = False

    def _update_caches(self, dt: float) -> None:
        """Fill caches from backend responses — late ones too: a look-aside cache stores what the
        database returns even when the user's request has already timed out."""
        load, succ, warm = self.st.edge_load, self.st.succ, self.st.warm
        powered = self.st.cap_avail
        for c_node, d, pairs in self.cache_plan:
            if powered is not None and powered[c_node] <= 0.0:
                continue            # none of its own servers run: nothing to fill (the secondary's copy
                #                     serves its traffic, as misses)
            fills = 0.0
            for ck, cd in pairs:
                fills += load[ck] * succ[cd]
            warm[c_node] = m.warm_cache(warm[c_node], fills * self.st.own_ok[d], dt, self.cache_items[c_node])

    def lose_cache(self, node: int, share: float) -> None:
        """A cache whose servers lose power loses what they held (share of its contents)."""
        self.st.warm[node] *= 1.0 - share

    # ---- read-outs -----------------------------------------------------------------------
    def class_success(self, root: str) -> float:
        c = self.class_of[root]
        return float(self.st.succ[c * self.n + self.root[c]])

    def class_quality(self, root: str) -> float:
        c = self.class_of[root]
        return float(self.st.qual[c * self.n + self.root[c]])

    def class_latency(self, root: str) -> float:
        c = self.class_of[root]
        return float(self.st.lat[c * self.n + self.root[c]])

    def node_success(self, i: int) -> float:
        """Share of requests reaching node i that it completes (itself and its calls)."""
        return self.st.node_ok[i]

    def retry_amplification(self) -> float:
        """Attempts reaching backends per attempt a retry-free client would send."""
        return self.st.amplification
