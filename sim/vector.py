"""The rate model's step in numpy, for large architectures (sim.traffic uses it from VECTOR_MIN_NODES).

The pure-Python step costs about a microsecond per (class, call) pair per pass: fine for the tens of
nodes of the examples, seconds for 500 nodes over three hours. Here the same two passes run one
*topological level* at a time (a level's nodes only receive load from levels above and only wait
for answers from levels below), each level as a few array operations over its nodes and pairs.

Same model, same formulas, same state fields (`TrafficModel.st`); only summation order differs
(a destination's arrivals summed per level, latencies summed per node before adding its own), and
`np.exp` may round differently from `math.exp` in the last bit. So results agree with the pure
path to about 1e-12 rather than bit for bit — which is why small architectures, whose goldens are
exact, never take this path (tests/unit/test_vector.py compares the two).
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
    """One topological level: its nodes, and the (class, call) pairs leaving them (a slice)."""

    nodes: np.ndarray
    lo: int
    hi: int
    ci: np.ndarray              # c·n + caller, per pair
    cd: np.ndarray              # c·n + callee
    src: np.ndarray
    starts: np.ndarray          # where each (class, caller) group starts, relative to lo
    group_ci: np.ndarray        # its c·n + caller
    group_src: np.ndarray
    fb_local: np.ndarray        # a call's fallback pair, relative to lo (0 when none: masked by has_fb)
    has_fb: np.ndarray
    is_fb: np.ndarray
    any_fb: bool


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
        prim = np.array([tm.primary_of_fb[k] for k in k_arr], dtype=np.intp)
        self.prim_ck = np.where(prim >= 0, c_arr * e + prim, 0)
        self.calls_prim = np.array([tm.calls[p] if p >= 0 else 0.0 for p in prim], dtype=f)
        self.calls_k = np.array([tm.calls[k] for k in k_arr], dtype=f)
        self.cache_miss = np.array([tm.cache_miss[k] for k in k_arr], dtype=bool)
        self.backend = np.array([tm.to_backend[k] for k in k_arr], dtype=bool)
        self.retry_edge = np.array(tm.retry, dtype=bool)
        self.timeout = np.array([tm.timeout[k] for k in k_arr], dtype=f)
        self.needed = np.array([tm.required[k] or tm.fb_edge[k] >= 0 for k in k_arr], dtype=bool)
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
        levels = []
        top = max(depth, default=-1)
        lo = 0
        for d in range(top + 1):
            nodes = np.array([i for i in tm.order if depth[i] == d], dtype=np.intp)
            hi = lo
            while hi < len(pairs) and pairs[hi][0] == d:
                hi += 1
            ci = self.ci[lo:hi]
            starts = np.array([j for j in range(hi - lo) if j == 0 or ci[j] != ci[j - 1]], dtype=np.intp)
            fb_local = np.array([pos_of[(p[2], tm.fb_edge[p[3]])] - lo if tm.fb_edge[p[3]] >= 0 else 0
                                 for p in pairs[lo:hi]], dtype=np.intp)
            has_fb = np.array([tm.fb_edge[p[3]] >= 0 for p in pairs[lo:hi]], dtype=bool)
            levels.append(Level(nodes, lo, hi, ci, self.cd[lo:hi], self.src[lo:hi], starts,
                                ci[starts] if hi > lo else ci, self.src[lo:hi][starts] if hi > lo else ci,
                                fb_local, has_fb, self.is_fb[lo:hi], bool(has_fb.any())))
            lo = hi
        self.levels = levels
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
        self.cache_rounds = [(np.array(ks, dtype=np.intp), np.array([tm.src[k] for k in ks], dtype=np.intp),
                              np.array([tm.dst[k] for k in ks], dtype=np.intp)) for ks in rounds]
        self.cache_items = np.array(tm.cache_items, dtype=f)
        self.retried = {p: np.array([plan.edge_allowed[k] > 1 for k in k_arr], dtype=bool) for p, plan in tm.plans.items()}
        self.wait_max = np.array([m.backoff_wait_max(j) for j in range(1, 64)], dtype=f)


def to_arrays(st: Any) -> None:
    """The state fields this path keeps as arrays (fresh state from TrafficModel.reset)."""
    for name in ("queue", "warm", "p_att", "s_call", "p_retry", "allowed", "breaker_until", "edge_load",
                 "edge_load1", "calls_eff", "send", "succ", "qual", "lat", "arrivals"):
        st.__dict__[name] = np.array(st.__dict__[name], dtype=np.float64)
    st.half_open = np.array(st.half_open, dtype=bool)


def step(tm: TrafficModel, vp: VectorPlan, dt: float, avail: list[float], demand: list[float], shedding: bool,
         breakers: bool) -> None:
    """One step of TrafficModel.step, level by level (see the module's docstring)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _step(tm, vp, dt, avail, demand, shedding, breakers)


def _step(tm: TrafficModel, vp: VectorPlan, dt: float, avail: list[float], demand: list[float], shedding: bool,
          breakers: bool) -> None:
    st = tm.st
    n, e, c_count = tm.n, tm.e_count, tm.c_count
    plan = tm.plans[st.policy]
    policy = plan.policy
    if st.cap_dirty or avail != st.cap_avail:
        st.capacity = tm.capacity_for(avail)
        st.cap_avail, st.cap_dirty = list(avail), False
    cap = np.asarray(st.capacity, dtype=np.float64)
    now = st.now
    if breakers:
        send = np.where(st.breaker_until > now, 0.0, np.where(st.half_open, BREAKER_PROBE, 1.0))
    else:
        send = np.ones(e)
    st.send = send
    p_prev, s_prev = st.p_retry, st.s_call
    allowed_now = np.asarray(st.allowed, dtype=np.float64)
    k = vp.k

    # Per pair, from the last step and this step's breakers alone: calls per request, attempts per call.
    miss = np.where(vp.is_cache, 1.0 - vp.hit_max * st.warm, 1.0)
    calls = np.where(vp.is_fb, vp.calls_prim * (1.0 - s_prev[vp.prim_ck]),
                     np.where(vp.cache_miss, vp.calls_k * miss[vp.src], vp.calls_k))
    gate = send[k]
    if breakers:
        calls = calls * gate
    edge_retried = vp.retried[policy]
    pp = p_prev[vp.ck]
    allowed_p = allowed_now[k]
    f = 1.0 - pp
    r1 = (allowed_p - 1) + 1.0
    att = np.where(f >= 1.0 - 1e-12, r1, (1.0 - f ** r1) / (1.0 - f))
    if policy == "budget":
        att = np.minimum(att, 1.0 + m.RETRY_BUDGET_RATIO * (1.0 - f))
    att = np.where(edge_retried & (pp != 1.0), att, 1.0)

    # Top-down: load, one level at a time.
    arr = np.zeros(c_count * n)
    arr1 = np.zeros(c_count * n)
    arr[vp.root_ci] = demand
    arr1[vp.root_ci] = demand
    arr2 = arr.reshape(c_count, n)
    queue = st.queue
    a_tot, own_ok, util, wait, ratio = np.zeros(n), np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    eload_p = np.zeros(len(k))
    eload1_p = np.zeros(len(k))
    for lv in vp.levels:
        nodes = lv.nodes
        a = arr2[:, nodes].sum(axis=0)
        a_tot[nodes] = a
        cap_l = cap[nodes]
        q = queue[nodes]
        pos = a > 0
        if ((a <= cap_l) & (q == 0.0)).all():           # the healthy case: nothing queued, all served
            util[nodes] = np.where(cap_l > 0, a / cap_l, 0.0)
            own_ok[nodes] = np.where(pos | (cap_l > 0), 1.0, 0.0)
            ratio[nodes] = pos
        else:                                           # m.queue_step, vectorised
            healthy = (a <= cap_l) & (q == 0.0)
            cp = np.maximum(cap_l, 0.0)
            limit = cp * (0.2 if shedding else 30.0)
            room = np.maximum(limit - q, 0.0) / dt + cp
            admitted = np.minimum(a, room)
            new_q = np.minimum(np.maximum(q + (admitted - cp) * dt, 0.0), limit)
            served = np.minimum(admitted + q / dt, cp)
            w = np.where(cp > 0.0, 0.5 * (np.minimum(limit, q) + new_q) / cp, 0.0)
            admitted = np.where(healthy, a, admitted)
            served = np.where(healthy, a, served)
            queue[nodes] = np.where(healthy, q, new_q)
            wait[nodes] = np.where(healthy, 0.0, w)
            util[nodes] = np.where(cap_l > 0, a / cap_l, np.where(pos, np.inf, 0.0))
            own_ok[nodes] = np.where(pos, admitted / a, np.where(cap_l > 0, 1.0, 0.0))
            ratio[nodes] = np.where(pos, served / a, 0.0)
        if lv.hi == lv.lo:
            continue
        sl = slice(lv.lo, lv.hi)
        rt = ratio[lv.src]
        c_l = calls[sl]
        base1 = arr1[lv.ci] * rt * c_l
        base = arr[lv.ci] * rt * c_l * att[sl]
        np.add.at(arr, lv.cd, base)
        np.add.at(arr1, lv.cd, base1)
        eload_p[sl] = base
        eload1_p[sl] = base1
    amp_first = float(eload1_p[vp.backend].sum())      # (not a dot product: BLAS threads cost milliseconds)
    st.amplification = float(eload_p[vp.backend].sum()) / amp_first if amp_first > 0 else 1.0
    ce = c_count * e
    eload = np.zeros(ce)
    eload1 = np.zeros(ce)
    calls_eff = np.zeros(ce)
    eload[vp.ck] = eload_p
    eload1[vp.ck] = eload1_p
    calls_eff[vp.ck] = calls
    st.arrivals, st.edge_load, st.edge_load1, st.calls_eff = arr, eload, eload1, calls_eff

    # Bottom-up: success, quality and latency per (class, node), deepest level first.
    succ = np.ones(c_count * n)
    qual = np.ones(c_count * n)
    lat = np.zeros(c_count * n)
    lok = np.zeros(c_count * n)
    own_lat = BASE_SERVICE_S / (1.0 - np.minimum(np.minimum(util, 1.0), 0.95)) + wait
    lat[vp.leaf_ci] = own_lat[vp.leaf_node]
    lok[vp.leaf_ci] = own_lat[vp.leaf_node]
    own_d = own_ok[vp.dst]
    shed_p = gate * (1.0 - own_d) if shedding else None
    open_ = gate < 1.0
    q_all = np.where(open_, np.where(gate > 0.0, calls / gate, vp.calls_k), calls) if breakers else calls
    extra = np.asarray(st.extra_lat, dtype=np.float64)[k] if any(st.extra_lat) else None
    budget = policy == "budget"
    mode_retry = edge_retried & ~(budget & vp.retry_edge[k])    # mode 1: retried within the deadline
    mode_budget = budget & vp.retry_edge[k]                      # mode 2: a retry budget
    backoff = policy == "backoff"
    capped = plan.deadline_cap
    P = len(k)
    p_att = np.empty(P)
    s_call = np.empty(P)
    p_retry = np.empty(P)
    f_x = np.zeros(P) if capped else None
    f_rx = np.zeros(P) if capped else None
    for lv in reversed(vp.levels):
        if lv.hi == lv.lo:
            continue
        sl = slice(lv.lo, lv.hi)
        cd = lv.cd
        s_d, q_d, lat_d, lok_d = succ[cd], qual[cd], lat[cd], lok[cd]
        if extra is not None:
            lat_d = lat_d + extra[sl]
            lok_d = lok_d + extra[sl]
        t_out = vp.timeout[sl]
        late = ~(lok_d * LATE_NEGLIGIBLE < t_out)
        if late.any():
            r = np.where(lok_d > 1e-9, t_out / lok_d, 40.0)
            fine = np.where(late, s_d * (1.0 - np.where(r < 40.0, np.exp(-0.5 * r * r), 0.0)), s_d)
        else:
            fine = s_d
        g_l = gate[sl]
        od = own_d[sl]
        pa_sent = od * fine
        pa = g_l * pa_sent
        rx = 1.0 - pa - shed_p[sl] if shedding else 1.0 - pa
        p_retry[sl] = 1.0 - rx
        al = np.where(edge_retried[sl], allowed_p[sl], 1.0)
        tries = np.where(al > 1.0, np.where(rx >= 1.0 - 1e-12, al, (1.0 - rx ** al) / (1.0 - rx)), 1.0)
        mr, mb = mode_retry[sl], mode_budget[sl]
        sc = np.where(mr, pa * tries, pa)
        if budget and mb.any():
            sc = np.where(mb, pa + rx * np.minimum(1.0, m.RETRY_BUDGET_RATIO * pa / np.maximum(rx, 1e-9)) * pa, sc)
        if capped:
            moded = mr | mb
            f_x[sl] = np.where(moded, (1.0 - s_d) * np.minimum(lat_d, t_out) / t_out + (s_d - fine), 0.0)
            f_rx[sl] = np.where(moded, rx, 0.0)
        sq = np.where(q_d == s_d, sc, np.where(s_d > 1e-12, sc * q_d / s_d, 0.0))
        p_att[sl] = pa_sent
        s_call[sl] = sc
        qq = q_all[sl]
        eff = np.where(lv.has_fb, sc + (1.0 - sc) * sc[lv.fb_local], sc) if lv.any_fb else sc
        factor = np.where(vp.needed[sl], eff, 1.0)
        small = qq <= 1.0
        s_term = 1.0 - qq * (1.0 - factor)
        q_term = 1.0 - qq * (1.0 - sq)
        if not small.all():                                 # several calls per request: a power
            s_term = np.where(small, s_term, factor ** qq)
            q_term = np.where(small, q_term, sq ** qq)
        t_att = od * np.minimum(lat_d, t_out)
        lat_call = tries * t_att
        if backoff:
            lat_call = lat_call + _backoff_wait(tries, vp.wait_max) * t_out
        lat_c = qq * lat_call
        fast = sc > 0.999999
        if fast.all():
            lok_c = qq * lok_d
        else:
            w = np.where(qq < 1.0, qq * factor / (1.0 - qq * (1.0 - factor)), qq)
            fa = rx ** al
            fbs = np.where(rx <= 1e-12, 0.0, np.where(
                rx >= 1.0 - 1e-9, (al - 1.0) / 2.0,
                rx * (1.0 - al * rx ** (al - 1.0) + (al - 1.0) * fa) / ((1.0 - rx) * (1.0 - fa))))
            rescued = factor - sc
            total = sc + rescued
            ok = np.minimum(lok_d, t_out) + fbs * t_att
            slow = np.where(total <= 1e-12, w * lat_call, w * ((sc * ok + rescued * lat_call) / total))
            lok_c = np.where(fast, qq * lok_d, slow)
        if lv.any_fb:                                     # a fallback's own call adds nothing here
            fb = lv.is_fb
            s_term = np.where(fb, 1.0, s_term)
            q_term = np.where(fb, 1.0, q_term)
            lat_c = np.where(fb, 0.0, lat_c)
            lok_c = np.where(fb, 0.0, lok_c)
        gci, st_ = lv.group_ci, lv.starts
        own = own_lat[lv.group_src]
        succ[gci] = np.multiply.reduceat(s_term, st_)
        qual[gci] = np.multiply.reduceat(q_term, st_)
        lat[gci] = own + np.add.reduceat(lat_c, st_)
        lok[gci] = own + np.add.reduceat(lok_c, st_)
    st.succ, st.qual, st.lat = succ, qual, lat

    e_load = np.bincount(k, eload_p, minlength=e)
    e_fail = np.bincount(k, eload_p * (1.0 - s_call), minlength=e)
    succ2 = succ.reshape(c_count, n)
    ok_sum = (arr2 * succ2).sum(axis=0)
    best = np.where(vp.reached, succ2, 0.0).max(axis=0) if c_count else np.zeros(n)
    node_ok = np.where(a_tot > 0, ok_sum / a_tot, np.where(vp.has_pairs, best, 1.0)) * own_ok
    pa_full, sc_full, pr_full = np.ones(ce), np.ones(ce), np.ones(ce)
    pa_full[vp.ck], sc_full[vp.ck], pr_full[vp.ck] = p_att, s_call, p_retry
    st.p_att, st.s_call, st.p_retry = pa_full, sc_full, pr_full
    if capped:
        f_time = np.bincount(k, eload_p * gate * own_d * f_x, minlength=e)
        f_all = np.bincount(k, eload_p * f_rx, minlength=e)
        r_max, calm = tm.s.max_retries, plan.allowed
        ft = np.minimum(1.0, f_time / f_all)
        fit = np.where(ft <= 1e-9, float(r_max + 1), np.maximum(1.0, np.minimum(float(r_max + 1), m.DEADLINE_TIMEOUTS / ft)))
        st.allowed = np.where(vp.retry_edge, np.where(f_all > 1e-12, fit, calm), 1.0)
    edge_fail = np.where(send == 0.0, 1.0, np.where(e_load > 0, e_fail / e_load, 0.0))
    # Per node and per call, as lists: the classifier and the diagnosis read them one by one.
    st.arrivals_total, st.own_ok, st.util, st.wait = a_tot.tolist(), own_ok.tolist(), util.tolist(), wait.tolist()
    st.node_ok, st.edge_fail = node_ok.tolist(), edge_fail.tolist()
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
    """TrafficModel._update_caches: fills per cache call from every class, applied call by call."""
    if not vp.cache_rounds:
        return
    st = tm.st
    n, e, c_count = tm.n, tm.e_count, tm.c_count
    load2 = eload.reshape(c_count, e)
    succ2 = succ.reshape(c_count, n)
    powered = st.cap_avail
    warm = st.warm
    items = vp.cache_items
    off = np.asarray(powered) <= 0.0 if powered is not None else None
    for ks, srcs, dsts in vp.cache_rounds:
        fills = (load2[:, ks] * succ2[:, dsts]).sum(axis=0) * own_ok[dsts]
        fr = warm[srcs]
        new = np.minimum(1.0, fr + (1.0 - fr) * np.minimum(1.0, fills * dt / np.maximum(items[srcs], 1e-9)))
        if off is not None:                         # none of its own servers run: nothing to fill
            new = np.where(off[srcs], fr, new)
        warm[srcs] = new
