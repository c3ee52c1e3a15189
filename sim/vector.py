"""The rate model's step in numpy, for large architectures (sim.traffic uses it from VECTOR_MIN_NODES).

The pure-Python step costs about a microsecond per (class, call) pair per pass: fine for the tens of
nodes of the examples, seconds for 500 nodes over three hours. Here the same two passes run one
*topological level* at a time (a level's nodes only receive load from levels above and only wait
for answers from levels below), each level as a few array operations over its nodes and pairs.

The bottom-up pass runs only over the pairs of *representative* classes (TrafficModel.rep: classes
whose requests use the same calls below a node get the same numbers there, as in the pure path) and
copies their values to the other classes. The top-down pass keeps per-node values in level order, so
that a level's nodes are a slice. sim.states classifies the nodes from these arrays too.

Same model, same formulas, same state fields (`TrafficModel.st`; here the step's results per node,
per call and per (class, call) are numpy arrays, `to_arrays`: reading one element gives a numpy
float, a float subclass; the interventions' inputs stay lists).
What differs is summation order (a node's arrivals summed over its incoming calls, latencies summed
per node before adding its own) and the last bit of `np.exp`/`np.power`.
That is invisible (1e-16) except where the model's formulas are ill-conditioned — expected attempts
(1 − x^A)/(1 − x) for a call whose attempts nearly all fail — where both paths are equally inexact.
Small architectures, whose goldens are exact, never take this path; tests/unit/test_vector.py
compares the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import mechanisms as m

if TYPE_CHECKING:
    from .traffic import TrafficModel

BASE_SERVICE_S = 0.03               # same as sim.traffic (not imported: traffic imports this module)
LATE_NEGLIGIBLE = 8.5
BREAKER_OPEN_S, BREAKER_TRIP, BREAKER_PROBE = 30.0, 0.5, 0.1


class Level(NamedTuple):
    """One topological level, top-down: its nodes, and the (class, call) pairs leaving them (a slice)."""

    nodes: np.ndarray
    lo: int
    hi: int
    nlo: int                    # the level's nodes are VectorPlan.node_order[nlo:nhi]
    nhi: int
    src_local: np.ndarray       # a pair's caller, as a position among the level's nodes
    ci3: np.ndarray             # c·n + caller in the rows of `both`: arrivals, first attempts, arrivals again
    cd3: np.ndarray             # c·n + callee in the first two rows; the callee's level-order position in the third


class BuLevel(NamedTuple):
    """One topological level, bottom-up: only the pairs of *representative* classes (TrafficModel.rep:
    classes whose requests use the same calls below a node get the same numbers there), a slice of
    VectorPlan.rep_idx; the other classes' values at the level's nodes are copied from theirs."""

    lo: int
    hi: int
    cd: np.ndarray              # c·n + callee, per pair
    cd_rows: np.ndarray         # cd in each row of the bottom-up values (success, latency, answered latency)
    starts: np.ndarray          # where each (class, caller) group starts, relative to lo
    group_ci: np.ndarray        # its c·n + caller
    starts2: np.ndarray         # starts, then starts + pairs (the two latency rows side by side)
    gci_rows: np.ndarray        # group_ci in the two latency rows
    gsrc2: np.ndarray           # the group's caller, twice
    fb_local: np.ndarray        # a call's fallback pair, relative to lo (0 when none: masked by has_fb)
    has_fb: np.ndarray
    is_fb: np.ndarray
    any_fb: bool
    needed: np.ndarray
    simple: bool                # no fallback and every call required: a call's success is its factor
    copy_to: np.ndarray         # (class, caller) of the other classes, in the three rows
    copy_from: np.ndarray       # … and of their representatives
    copy_to1: np.ndarray        # the same in one row (quality)
    copy_from1: np.ndarray


class VectorPlan:
    """Index arrays of a model's pairs, ordered by the caller's level, then as the pure path orders
    them (caller in topological order, class, fallbacks first, call). Built once; read-only."""

    def __init__(self, tm: TrafficModel) -> None:
        n, e = tm.n, tm.e_count
        depth = [0] * n
        out: list[list[int]] = [[] for _ in range(n)]
        for k in range(e):
            out[tm.src[k]].append(k)
        for i in tm.order:
            for k in out[i]:
                d = tm.dst[k]
                depth[d] = max(depth[d], depth[i] + 1)
        pairs = [(depth[i], pos, c, k) for pos, i in enumerate(tm.order) for c, k in tm.pairs[i]]
        pairs.sort(key=lambda p: (p[0], p[1]))                  # stable: keeps class, fallback-first, call
        c_arr = np.array([p[2] for p in pairs], dtype=np.intp)
        k_arr = np.array([p[3] for p in pairs], dtype=np.intp)
        src = np.array(tm.src, dtype=np.intp)[k_arr] if pairs else np.zeros(0, np.intp)
        dst = np.array(tm.dst, dtype=np.intp)[k_arr] if pairs else np.zeros(0, np.intp)
        self.k, self.c = k_arr, c_arr
        self.ck, self.ci, self.cd, self.src, self.dst = c_arr * e + k_arr, c_arr * n + src, c_arr * n + dst, src, dst
        f = np.float64
        self.is_fb = np.array([tm.is_fb[k] for k in k_arr], dtype=bool)
        self.timeout = np.array([tm.timeout[k] for k in k_arr], dtype=f)
        prim = np.array([tm.primary_of_fb[k] for k in k_arr], dtype=np.intp)
        self.prim_ck = np.where(prim >= 0, c_arr * e + prim, 0)
        self.calls_prim = np.array([tm.calls[p] if p >= 0 else 0.0 for p in prim], dtype=f)
        self.calls_k = np.array([tm.calls[k] for k in k_arr], dtype=f)
        self.cache_miss = np.array([tm.cache_miss[k] for k in k_arr], dtype=bool)
        self.backend = np.array([tm.to_backend[k] for k in k_arr], dtype=bool)
        self.backend_idx = np.flatnonzero(self.backend)
        self.ones_e, self.ones_p = np.ones(e), np.ones(len(k_arr))
        self.ones_e.flags.writeable = self.ones_p.flags.writeable = False
        self.no_pairs = np.zeros(len(k_arr), dtype=bool)
        self.retry_edge = np.array(tm.retry, dtype=bool)
        self.needed = np.array([tm.required[k] or tm.fb_edge[k] >= 0 for k in k_arr], dtype=bool)
        # Without fallbacks and optional calls a request's quality is its success, exactly.
        self.same_quality = not self.is_fb.any() and bool(np.array([tm.required[k] for k in k_arr], dtype=bool).all())
        self.is_cache = np.array(tm.is_cache, dtype=bool)
        self.hit_max = np.array(tm.hit_max, dtype=f)
        self.has_pairs = np.array([bool(p) for p in tm.pairs], dtype=bool)
        reached = np.zeros(tm.c_count * n, dtype=bool)
        for i, cs in enumerate(tm.classes_at):
            for c in cs:
                reached[c * n + i] = True
        self.reached = reached.reshape(tm.c_count, n)
        # (class, node) reached but making no call there: its latency is the node's own
        self.leaf_ci = np.array([c * n + i for i in range(n) for c in tm.classes_at[i] if not tm.pairs_by_class[i][c]],
                                dtype=np.intp)
        self.leaf_node = self.leaf_ci % n if n else self.leaf_ci
        self.root_ci = np.array([c * n + r for c, r in enumerate(tm.root)], dtype=np.intp)
        pos_of = {(p[2], p[3]): j for j, p in enumerate(pairs)}
        cn = tm.c_count * n
        # Representative pairs: the bottom-up pass computes only these (same order, a subsequence).
        is_rep = [tm.rep[tm.src[p[3]]][p[2]] == p[2] for p in pairs]
        rep_idx = [j for j, r in enumerate(is_rep) if r]
        rpos = {j: r for r, j in enumerate(rep_idx)}
        self.rep_idx = np.array(rep_idx, dtype=np.intp)
        self.rep_pos = np.array([rpos[pos_of[(tm.rep[tm.src[p[3]]][p[2]], p[3])]] for p in pairs], dtype=np.intp)
        self.all_rep = len(rep_idx) == len(pairs)
        ri = self.rep_idx
        self.r_k, self.r_dst, self.r_cd, self.r_ck = k_arr[ri], dst[ri], self.cd[ri], self.ck[ri]
        self.r_timeout = self.timeout[ri]
        self.r_no_pairs = np.zeros(len(ri), dtype=bool)
        levels, bu_levels = [], []
        node_order: list[int] = []
        top = max(depth, default=-1)
        lo = rlo = 0
        for d in range(top + 1):
            nodes = np.array([i for i in tm.order if depth[i] == d], dtype=np.intp)
            hi = lo
            while hi < len(pairs) and pairs[hi][0] == d:
                hi += 1
            rhi = rlo
            while rhi < len(rep_idx) and rep_idx[rhi] < hi:
                rhi += 1
            ci = self.ci[lo:hi]
            local = {i: j for j, i in enumerate(nodes.tolist())}
            nlo = len(node_order)
            node_order += nodes.tolist()
            levels.append(Level(nodes, lo, hi, nlo, len(node_order),
                                np.array([local[i] for i in self.src[lo:hi].tolist()], dtype=np.intp),
                                np.concatenate([ci, ci + cn, ci]), np.concatenate([self.cd[lo:hi], self.cd[lo:hi] + cn])))
            rj = rep_idx[rlo:rhi]
            rci, rcd, rsrc = self.ci[rj], self.cd[rj], self.src[rj]
            m_ = rhi - rlo
            starts = np.array([j for j in range(m_) if j == 0 or rci[j] != rci[j - 1]], dtype=np.intp)
            rp = [pairs[j] for j in rj]
            fb_local = np.array([rpos[pos_of[(p[2], tm.fb_edge[p[3]])]] - rlo if tm.fb_edge[p[3]] >= 0 else 0
                                 for p in rp], dtype=np.intp)
            has_fb = np.array([tm.fb_edge[p[3]] >= 0 for p in rp], dtype=bool)
            needed = self.needed[rj]
            to, frm = [], []
            for i in nodes.tolist():
                for c in tm.classes_at[i]:
                    r = tm.rep[i][c]
                    if r != c and tm.pairs_by_class[i][c]:
                        to.append(c * n + i)
                        frm.append(r * n + i)
            to_a, frm_a = np.array(to, dtype=np.intp), np.array(frm, dtype=np.intp)
            gci = rci[starts] if m_ else rci
            bu_levels.append(BuLevel(rlo, rhi, rcd, np.concatenate([rcd + r * cn for r in range(3)]), starts, gci,
                                     np.concatenate([starts, starts + m_]), np.concatenate([gci + cn, gci + 2 * cn]),
                                     np.concatenate([rsrc[starts]] * 2) if m_ else rsrc, fb_local, has_fb,
                                     self.is_fb[rj], bool(has_fb.any()), needed,
                                     not has_fb.any() and bool(needed.all()),
                                     np.concatenate([to_a + r * cn for r in range(3)]),
                                     np.concatenate([frm_a + r * cn for r in range(3)]), to_a, frm_a))
            lo, rlo = hi, rhi
        self.levels, self.bu_levels = levels, bu_levels
        # Per-node values of the top-down pass are kept in level order (a level's nodes: a slice).
        self.node_order = np.array(node_order, dtype=np.intp)
        lvpos = np.empty(n, dtype=np.intp)
        lvpos[self.node_order] = np.arange(n)
        self.lvpos = lvpos
        self.levels = [lv._replace(cd3=np.concatenate([lv.cd3, 2 * cn + lvpos[dst[lv.lo:lv.hi]]])) for lv in levels]
        self.root_tot = 2 * cn + lvpos[np.array(tm.root, dtype=np.intp)] if tm.c_count else np.zeros(0, np.intp)
        # Caches filled from their backends: the calls of each cache, in call order, in rounds (the
        # r-th call of every cache together), since one cache's fills are applied call after call.
        rounds: list[list[int]] = []
        seen: dict[int, int] = {}
        for k in range(e):
            if tm.cache_miss[k]:
                r = seen.get(tm.src[k], 0)
                seen[tm.src[k]] = r + 1
                if r == len(rounds):
                    rounds.append([])
                rounds[r].append(k)
        cs = np.arange(tm.c_count, dtype=np.intp)[:, None]
        self.cache_rounds = []
        for ks in rounds:
            ka = np.array(ks, dtype=np.intp)
            srcs, dsts = np.array([tm.src[k] for k in ks], dtype=np.intp), np.array([tm.dst[k] for k in ks], dtype=np.intp)
            self.cache_rounds.append((srcs, dsts, (cs * e + ka).ravel(), (cs * n + dsts).ravel()))
        self.cache_items = np.array(tm.cache_items, dtype=f)
        if rounds:
            # Every cache's calls together (a cache in the order of its first call, its calls in call
            # order): one cache's fills compose as 1 − warm' = (1 − warm) · Π (1 − fill share).
            by_cache: dict[int, list[int]] = {}
            for k in range(e):
                if tm.cache_miss[k]:
                    by_cache.setdefault(tm.src[k], []).append(k)
            ka = np.array([k for ks in by_cache.values() for k in ks], dtype=np.intp)
            dsts_all = np.array(tm.dst, dtype=np.intp)[ka]
            self.cache_nodes = np.array(list(by_cache), dtype=np.intp)
            self.cache_starts = np.cumsum([0] + [len(ks) for ks in by_cache.values()])[:-1].astype(np.intp)
            self.cache_single = all(len(ks) == 1 for ks in by_cache.values())
            self.cache_ck = cs * e + ka                  # classes × cache calls
            self.cache_cd = cs * n + dsts_all
            self.cache_dst = dsts_all
            self.cache_den = np.maximum(self.cache_items[np.array(tm.src, dtype=np.intp)[ka]], 1e-9)
        self.retried = {p: np.array([plan.edge_allowed[k] > 1 for k in k_arr], dtype=bool) for p, plan in tm.plans.items()}
        self.r_retried = {p: a[ri] for p, a in self.retried.items()}
        self.wait_max = np.array([m.backoff_wait_max(j) for j in range(1, 64)], dtype=f)


def to_arrays(st: Any) -> None:
    """The state fields this path keeps as arrays (fresh state from TrafficModel.reset)."""
    for name in ("queue", "warm", "p_att", "s_call", "p_retry", "allowed", "breaker_until", "edge_load",
                 "edge_load1", "calls_eff", "send", "succ", "qual", "lat", "arrivals", "arrivals_total", "own_ok",
                 "util", "wait", "node_ok", "edge_fail"):
        st.__dict__[name] = np.array(st.__dict__[name], dtype=np.float64)
    st.half_open = np.array(st.half_open, dtype=bool)
    st.cache_off = None                     # with cap_avail: its caches without power (sim.vector._update_caches)


def step(tm: TrafficModel, vp: VectorPlan, dt: float, avail: list[float], demand: list[float], shedding: bool,
         breakers: bool) -> None:
    """One step of TrafficModel.step, level by level (see the module's docstring)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _step(tm, vp, dt, avail, demand, shedding, breakers)


def _step(tm: TrafficModel, vp: VectorPlan, dt: float, avail: list[float], demand: list[float], shedding: bool,
          breakers: bool) -> None:
    # Written for the fewest numpy calls per level (each costs about a microsecond, whatever its size):
    # what depends only on the last step is computed once for all pairs, what the next level does not
    # read (per-call outputs) once after the loops, and branches only when some element takes them.
    st = tm.st
    n, e, c_count = tm.n, tm.e_count, tm.c_count
    cn = c_count * n
    plan = tm.plans[st.policy]
    policy = plan.policy
    if st.cap_dirty or avail != st.cap_avail:
        st.capacity = np.array(tm.capacity_for(avail), dtype=np.float64)
        st.cap_avail, st.cap_dirty = list(avail), False
        if vp.cache_rounds:                             # caches none of whose own servers run
            st.cache_off = np.asarray(avail, dtype=np.float64)[vp.cache_nodes] <= 0.0
    cap = st.capacity
    now = st.now
    if breakers:
        send = np.where(st.breaker_until > now, 0.0, np.where(st.half_open, BREAKER_PROBE, 1.0))
    else:
        send = vp.ones_e                                # shared, read-only: nothing writes into send
    st.send = send
    p_prev, s_prev = st.p_retry, st.s_call
    allowed_now = np.asarray(st.allowed, dtype=np.float64)
    k = vp.k
    P = len(k)

    # Per pair, from the last step and this step's breakers alone: calls per request, attempts per call.
    miss = np.where(vp.is_cache, 1.0 - vp.hit_max * st.warm, 1.0)
    calls = np.where(vp.is_fb, vp.calls_prim * (1.0 - s_prev[vp.prim_ck]),
                     np.where(vp.cache_miss, vp.calls_k * miss[vp.src], vp.calls_k))
    gate = send[k] if breakers else vp.ones_p
    if breakers:
        calls = calls * gate
    # Attempts per call, for the representative pairs (the other classes' pairs have the same last
    # step: VectorPlan.rep_idx), then spread to every pair.
    ri, rk = vp.rep_idx, vp.r_k
    r_retried = vp.r_retried[policy]
    pp = p_prev[vp.r_ck]
    allowed_r = allowed_now[rk]
    f = 1.0 - pp
    r1 = (allowed_r - 1) + 1.0
    att = np.where(f >= 1.0 - 1e-12, r1, (1.0 - f ** r1) / (1.0 - f))
    if policy == "budget":
        att = np.minimum(att, 1.0 + m.RETRY_BUDGET_RATIO * (1.0 - f))
    att = np.where(r_retried & (pp != 1.0), att, 1.0)
    if not vp.all_rep:
        att = att[vp.rep_pos]

    # Top-down: load, one level at a time. `both` holds arrivals and first attempts per (class, node),
    # then each node's total arrivals in level order (a level's nodes are a slice there).
    both = np.zeros(2 * cn + n)
    both[vp.root_ci] = demand
    both[cn + vp.root_ci] = demand
    np.add.at(both, vp.root_tot, demand)
    arr, arr1 = both[:cn], both[cn:2 * cn]
    arr2 = arr.reshape(c_count, n)
    tot = both[2 * cn:]
    # m.queue_step, vectorised: what depends on last step's queue for every node at once, in level order.
    q0 = st.queue
    limit = cap * (0.2 if shedding else 30.0)
    order = vp.node_order
    adm_cap = (np.maximum(limit - q0, 0.0) / dt + cap)[order]
    q_dt = (q0 / dt)[order]
    cap_o = cap[order]
    admitted_o = np.empty(n)
    mult = np.empty((3, P))                             # per pair: calls × attempts, calls, calls × attempts
    np.multiply(calls, att, out=mult[0])
    mult[1] = calls
    mult[2] = mult[0]
    loads = np.zeros((2, P))                            # per pair: load, and load without retries
    for lv in vp.levels:
        ns = slice(lv.nlo, lv.nhi)
        a = tot[ns]
        adm = np.minimum(a, adm_cap[ns], out=admitted_o[ns])
        served = np.minimum(adm + q_dt[ns], cap_o[ns])
        ratio = np.divide(served, a, out=np.zeros(lv.nhi - lv.nlo), where=a > 0)
        if lv.hi == lv.lo:
            continue
        sl = slice(lv.lo, lv.hi)
        x = both.take(lv.ci3).reshape(3, lv.hi - lv.lo)
        x *= ratio[lv.src_local]
        x *= mult[:, sl]
        np.add.at(both, lv.cd3, x.ravel())
        loads[:, sl] = x[:2]
    lvpos = vp.lvpos
    a_tot, admitted = tot[lvpos], admitted_o[lvpos]
    new_q = np.minimum(np.maximum(q0 + (admitted - cap) * dt, 0.0), limit)
    wait = np.divide(0.5 * (np.minimum(limit, q0) + new_q), cap, out=np.zeros(n), where=cap > 0.0)
    st.queue = new_q
    pos = a_tot > 0
    own_ok = np.where(pos, admitted / a_tot, np.where(cap > 0, 1.0, 0.0))
    util = np.where(cap > 0, a_tot / cap, np.where(pos, np.inf, 0.0))
    eload_p, eload1_p = loads[0], loads[1]
    # (not a dot product: that would start BLAS's threads, which spin on the cores the step runs on)
    amp_first = float(eload1_p.take(vp.backend_idx).sum())
    st.amplification = float(eload_p.take(vp.backend_idx).sum()) / amp_first if amp_first > 0 else 1.0
    # The per-(class, call) fields are written in place: only the pairs in use ever change, and a
    # fresh array of classes × calls each step costs more than the step's arithmetic on 2,000 nodes.
    eload = st.edge_load
    eload[vp.ck] = eload_p
    st.edge_load1[vp.ck] = eload1_p
    st.calls_eff[vp.ck] = calls
    st.arrivals = arr.copy()

    # Bottom-up: success, latency, latency of the answered requests (and quality) per (class, node),
    # deepest level first, as rows of `v`.
    same_q = vp.same_quality
    v = np.zeros(3 * cn)                                # rows: success, latency, answered latency
    v[:cn] = 1.0
    qual = np.ones(cn) if not same_q else None
    own_lat = BASE_SERVICE_S / (1.0 - np.minimum(np.minimum(util, 1.0), 0.95)) + wait
    v[vp.leaf_ci + cn] = own_lat[vp.leaf_node]
    v[vp.leaf_ci + 2 * cn] = own_lat[vp.leaf_node]
    capped = plan.deadline_cap
    own_d = own_ok[vp.dst] if shedding or capped or vp.all_rep else None
    rx_base = 1.0 - gate * (1.0 - own_d) if shedding else None     # rx = (1 − shed) − pa
    q_all = np.where(gate < 1.0, np.where(gate > 0.0, calls / gate, vp.calls_k), calls) if breakers else calls
    mode_budget = vp.retry_edge[k] if policy == "budget" else vp.no_pairs
    backoff = policy == "backoff"
    # From here on, per representative pair (VectorPlan.rep_idx): the other classes' pairs get the
    # same numbers (copied per level for the values the next level reads, once at the end for the rest).
    if vp.all_rep:
        r_own_d, r_gate, r_q, r_budget, r_rx_base = own_d, gate, q_all, mode_budget, rx_base
    else:
        r_own_d = own_ok[vp.r_dst]
        r_gate = gate[ri] if breakers else gate
        r_q = q_all[ri]
        r_budget = mode_budget[ri] if policy == "budget" else vp.r_no_pairs
        r_rx_base = rx_base[ri] if shedding else None
    powered_q = bool((r_q > 1.0).any())
    some_q_lt1 = bool((r_q < 1.0).any())
    # Latency interventions and attempts per call change rarely: kept while their lists are the same
    # objects (st's fields are replaced, never edited, when they change; holding them keeps that sound).
    cached = tm.__dict__.get("_vector_cache")
    if cached is None or cached[0] is not st.extra_lat:
        extra = np.asarray(st.extra_lat, dtype=np.float64)[rk] if any(st.extra_lat) else None
        cached = tm.__dict__["_vector_cache"] = (st.extra_lat, extra, None, None, None)
    extra = cached[1]
    if cached[2] is not st.allowed or cached[3] != policy:
        al_p = np.where(r_retried, allowed_r, 1.0)    # attempts that fit (1 when not retried)
        alm1 = al_p - 1.0
        cached = tm.__dict__["_vector_cache"] = cached[:2] + (st.allowed, policy, (al_p, alm1, alm1 / 2.0))
    al_p, alm1, half_alm1 = cached[4]
    any_budget = policy == "budget" and bool(r_budget.any())
    R = len(ri)
    r_s_call = np.empty(R)
    r_p_att = np.empty(R)
    f_x = np.zeros(R) if capped else None
    f_rx = np.zeros(R) if capped else None
    timeout = vp.r_timeout
    for lv in reversed(vp.bu_levels):
        if lv.hi == lv.lo:
            continue
        sl = slice(lv.lo, lv.hi)
        g = v.take(lv.cd_rows).reshape(3, lv.hi - lv.lo)
        if extra is not None:
            g[1:3] += extra[sl]
        s_d, lat_d, lok_d = g[0], g[1], g[2]
        t_out = timeout[sl]
        soon = lok_d * LATE_NEGLIGIBLE < t_out         # m.late_share: far inside the timeout, never late
        if soon.all():
            fine = s_d
        else:
            r = t_out / lok_d                           # m.late_share, in the pure path's arithmetic
            fine = s_d * np.where(soon, 1.0, 1.0 - np.exp(-0.5 * r * r))
        od = r_own_d[sl]
        pa_sent = np.multiply(od, fine, out=r_p_att[sl])
        pa = r_gate[sl] * pa_sent if breakers else pa_sent
        rx = r_rx_base[sl] - pa if shedding else 1.0 - pa
        al = al_p[sl]
        fa = rx ** al
        omr, omf = 1.0 - rx, 1.0 - fa
        tries = np.where(rx >= 1.0 - 1e-12, al, omf / omr)  # expected attempts (exactly 1 when al = 1)
        sc = np.multiply(pa, tries, out=r_s_call[sl])
        if any_budget:
            mb = r_budget[sl]
            sc[:] = np.where(mb, pa + rx * np.minimum(1.0, m.RETRY_BUDGET_RATIO * pa / np.maximum(rx, 1e-9)) * pa, sc)
        if capped:
            moded = r_retried[sl] | r_budget[sl]
            f_x[sl] = np.where(moded, (1.0 - s_d) * np.minimum(lat_d, t_out) / t_out + (s_d - fine), 0.0)
            f_rx[sl] = np.where(moded, rx, 0.0)
        qq = r_q[sl]
        if lv.simple:                                   # no fallback, every call required
            factor = sc
        else:
            eff = np.where(lv.has_fb, sc + (1.0 - sc) * sc[lv.fb_local], sc) if lv.any_fb else sc
            factor = np.where(lv.needed, eff, 1.0)
        s_term = 1.0 - qq * (1.0 - factor)
        if powered_q:                                   # several calls per request: a power
            s_term = np.where(qq <= 1.0, s_term, factor ** qq)
        t_att = od * np.minimum(lat_d, t_out)
        lat_call = tries * t_att
        if backoff:
            lat_call = lat_call + _backoff_wait(tries, vp.wait_max) * t_out
        fast = sc > 0.999999
        both_c = np.empty((2, lv.hi - lv.lo))            # latency, and latency of the answered requests
        np.multiply(qq, lat_call, out=both_c[0])
        if fast.all():
            np.multiply(qq, lok_d, out=both_c[1])
        else:   # among the requests that succeed, the share that made this call (answered_latency)
            w = np.where(qq < 1.0, qq * factor / s_term, qq) if some_q_lt1 else qq
            fbs = np.where(rx <= 1e-12, 0.0, np.where(
                rx >= 1.0 - 1e-9, half_alm1[sl],
                rx * (1.0 - al * rx ** alm1[sl] + alm1[sl] * fa) / (omr * omf)))
            ok = np.minimum(lok_d, t_out) + fbs * t_att
            if lv.simple:                               # nothing rescued: (sc·ok)/sc = ok
                np.multiply(w, np.where(sc <= 1e-12, lat_call, ok), out=both_c[1])
            else:
                rescued = factor - sc
                total = sc + rescued
                both_c[1] = np.where(total <= 1e-12, w * lat_call, w * ((sc * ok + rescued * lat_call) / total))
            np.copyto(both_c[1], qq * lok_d, where=fast)
        if lv.any_fb:                                   # a fallback's own call adds nothing here
            s_term = np.where(lv.is_fb, 1.0, s_term)
            both_c[:, lv.is_fb] = 0.0
        gci, starts = lv.group_ci, lv.starts
        v[gci] = np.multiply.reduceat(s_term, starts)
        v[lv.gci_rows] = own_lat[lv.gsrc2] + np.add.reduceat(both_c.ravel(), lv.starts2)
        if len(lv.copy_to1):                            # the other classes: their representative's values
            v[lv.copy_to] = v[lv.copy_from]
        if not same_q:
            q_d = qual[lv.cd]
            sq = np.where(q_d == s_d, sc, np.where(s_d > 1e-12, sc * q_d / s_d, 0.0))
            q_term = 1.0 - qq * (1.0 - sq)
            if powered_q:
                q_term = np.where(qq <= 1.0, q_term, sq ** qq)
            if lv.any_fb:
                q_term = np.where(lv.is_fb, 1.0, q_term)
            qual[gci] = np.multiply.reduceat(q_term, starts)
            if len(lv.copy_to1):
                qual[lv.copy_to1] = qual[lv.copy_from1]
    if vp.all_rep:
        s_call, p_att = r_s_call, r_p_att
    else:
        rp = vp.rep_pos
        s_call, p_att = r_s_call[rp], r_p_att[rp]
        if capped:
            f_x, f_rx = f_x[rp], f_rx[rp]
    succ, lat = v[:cn], v[cn:2 * cn]
    st.succ, st.qual, st.lat = succ, (succ if same_q else qual), lat

    e_load = np.bincount(k, eload_p, minlength=e)
    e_fail = np.bincount(k, eload_p * (1.0 - s_call), minlength=e)
    succ2 = succ.reshape(c_count, n)
    ok_sum = (arr2 * succ2).sum(axis=0)
    if pos.all():                                       # every node has arrivals (the usual case)
        node_ok = ok_sum / a_tot * own_ok
    else:
        best = np.where(vp.reached, succ2, 0.0).max(axis=0) if c_count else np.zeros(n)
        node_ok = np.where(pos, ok_sum / a_tot, np.where(vp.has_pairs, best, 1.0)) * own_ok
    pa = r_gate * r_p_att if breakers else r_p_att
    p_retry = 1.0 - (r_rx_base - pa if shedding else 1.0 - pa)
    st.p_att[vp.ck], st.s_call[vp.ck] = p_att, s_call
    st.p_retry[vp.ck] = p_retry if vp.all_rep else p_retry[vp.rep_pos]
    if capped:
        f_time = np.bincount(k, eload_p * gate * own_d * f_x, minlength=e)
        f_all = np.bincount(k, eload_p * f_rx, minlength=e)
        r_max, calm = tm.s.max_retries, plan.allowed
        ft = np.minimum(1.0, f_time / f_all)
        fit = np.where(ft <= 1e-9, float(r_max + 1),
                       np.maximum(1.0, np.minimum(float(r_max + 1), m.DEADLINE_TIMEOUTS / ft)))
        st.allowed = np.where(vp.retry_edge, np.where(f_all > 1e-12, fit, calm), 1.0)
    edge_fail = np.divide(e_fail, e_load, out=np.zeros(e), where=e_load > 0)
    if breakers:                                        # an open breaker fails all its calls
        edge_fail[send == 0.0] = 1.0
    # Per node and per call, as arrays (a read of one element is a float: numpy's float64 subclasses it).
    st.arrivals_total, st.own_ok, st.util, st.wait = a_tot, own_ok, util, wait
    st.node_ok, st.edge_fail = node_ok, edge_fail
    if breakers:
        _update_breakers(st, e_load, np.bincount(k, eload_p * (1.0 - p_att), minlength=e))
    _update_caches(tm, vp, eload, succ, own_ok, dt)
    st.now += dt


def _backoff_wait(tries: np.ndarray, wait_max: np.ndarray) -> np.ndarray:
    """m.backoff_mean_wait for an array of (fractional) attempts, summed in the same order."""
    total = np.zeros_like(tries)
    left = tries - 1.0
    j = 0
    while (left > 0.0).any():
        total = total + np.where(left > 0.0, np.minimum(1.0, left) * wait_max[j] / 2.0, 0.0)
        left = left - 1.0
        j += 1
    return total


def _update_breakers(st: Any, load: np.ndarray, fail: np.ndarray) -> None:
    """TrafficModel._update_breakers over every call at once."""
    closed = ~(st.breaker_until > st.now)
    busy = load > 0
    trip = closed & busy & (fail / np.where(busy, load, 1.0) > BREAKER_TRIP)
    st.breaker_until = np.where(trip, st.now + BREAKER_OPEN_S, st.breaker_until)
    st.half_open = np.where(trip, True, np.where(closed & busy, False, st.half_open))


def _update_caches(tm: TrafficModel, vp: VectorPlan, eload: np.ndarray, succ: np.ndarray, own_ok: np.ndarray,
                   dt: float) -> None:
    """TrafficModel._update_caches: fills per cache call from every class, all calls at once. The pure
    path applies m.warm_cache call after call; with x' = x + (1 − x)·f that is the product of the
    (1 − f) over a cache's calls (equal up to rounding)."""
    if not vp.cache_rounds:
        return
    st = tm.st
    warm = st.warm
    fills = (eload[vp.cache_ck] * succ[vp.cache_cd]).sum(axis=0) * own_ok[vp.cache_dst]
    keep = 1.0 - np.minimum(1.0, fills * dt / vp.cache_den)     # share of the cold part that stays cold
    if not vp.cache_single:
        keep = np.multiply.reduceat(keep, vp.cache_starts)
    nodes = vp.cache_nodes
    fr = warm[nodes]
    new = np.minimum(1.0, 1.0 - (1.0 - fr) * keep)
    if st.cache_off is not None:                    # none of its own servers run: nothing to fill
        new = np.where(st.cache_off, fr, new)
    warm[nodes] = new
