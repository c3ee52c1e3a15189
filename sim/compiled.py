"""The rate model's step compiled by numba, for large architectures (sim.traffic uses it from
VECTOR_MIN_NODES when numba is installed; sim.vector's numpy step otherwise).

sim.vector runs a level's pairs as array operations: about sixty numpy calls per topological level,
each a microsecond or more whatever its size, so a ten-level architecture costs about 2 ms a step
before any arithmetic. Here the pure path's loops (TrafficModel.step) run as machine code instead,
over the same plan flattened into index arrays: the same order of operations, the same formulas, the
same libm `exp` and `pow`. The state's fields are numpy arrays, as on the numpy path (sim.vector.to_arrays),
so the classifier and every reader work unchanged; tests/unit/test_compiled.py compares the three paths.

numba compiles the kernel on its first use in a process (7 s on the development machine) and keeps it
in its cache (`__pycache__`, or NUMBA_CACHE_DIR), from which the next processes load it in about a
second. Either
way a run's time budget leaves that out (TrafficModel.prepare_s); the simulation worker readies it
before its first large architecture's run (`prepare`), and only then: numba takes 100+ MB.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from . import mechanisms as m

if TYPE_CHECKING:
    from .traffic import TrafficModel

BASE_SERVICE_S = 0.03               # same as sim.traffic (not imported: traffic imports this module)
LATE_NEGLIGIBLE = 8.5
BREAKER_OPEN_S, BREAKER_TRIP, BREAKER_PROBE = 30.0, 0.5, 0.1
POLICY_CODE = {"none": 0, "immediate": 1, "backoff": 2, "budget": 3}
log = logging.getLogger(__name__)

# "numba": the module; "kernel": the compiled _kernel (None: numba missing, switched off or failing);
# "classify": sim.states.classify_codes compiled (`jit`).
_compiled: dict[str, Any] = {}


def available() -> bool:
    """Whether the compiled step can run here: numba is installed and LIGHTS_OUT_NO_JIT is not set.
    numba is imported only now (half a second), when a large architecture first needs it."""
    if "kernel" not in _compiled:
        try:
            if os.environ.get("LIGHTS_OUT_NO_JIT"):
                raise ImportError("LIGHTS_OUT_NO_JIT is set")
            import numba
        except ImportError:
            _compiled["kernel"] = None
        else:
            _compiled["numba"] = numba
            _compiled["kernel"] = _njit(_kernel)
    return _compiled["kernel"] is not None


def _njit(fn: Any) -> Any:
    numba = _compiled["numba"]
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:            # no writable cache location: compile in each process
        return numba.njit(nogil=True)(fn)


def jit(name: str, fn: Any) -> Any:
    """`fn` compiled by numba (once per process; kept in numba's cache), or None without numba."""
    if not available():
        return None
    if name not in _compiled:
        _compiled[name] = _njit(fn)
    return _compiled[name]


class KernelPlan:
    """The pure path's loops of one retry policy, flattened into arrays (TrafficModel._plan's order)."""

    def __init__(self, tm: TrafficModel, policy: str) -> None:
        n, e = tm.n, tm.e_count
        plan = tm.plans[policy]
        edge_allowed = plan.edge_allowed
        ip, fp = np.intp, np.float64
        # Top-down: nodes in topological order, their classes, their (class, call) pairs.
        td_ci_ptr, td_ci, td_p_ptr = [0], [], [0]
        pr: list[tuple[Any, ...]] = []
        for i in tm.order:
            td_ci += [c * n + i for c in tm.classes_at[i]]
            td_ci_ptr.append(len(td_ci))
            rep = tm.rep[i]
            for c, k in tm.pairs[i]:
                r = rep[c]
                prim = tm.primary_of_fb[k]
                pr.append((c * e + k, k, c * n + i, c * n + tm.dst[k], r * e + k, r * e + prim if prim >= 0 else 0,
                           tm.calls[prim] if prim >= 0 else 0.0, tm.calls[k], tm.is_fb[k], tm.cache_miss[k],
                           edge_allowed[k] > 1, tm.to_backend[k]))
            td_p_ptr.append(len(pr))
        cols = list(zip(*pr)) if pr else [()] * 12
        self.td = (np.array(tm.order, dtype=ip), np.array(td_ci_ptr, dtype=ip), np.array(td_ci, dtype=ip),
                   np.array(td_p_ptr, dtype=ip), *(np.array(cols[j], dtype=ip) for j in range(6)),
                   np.array(cols[6], dtype=fp), np.array(cols[7], dtype=fp),
                   *(np.array(cols[j], dtype=np.bool_) for j in range(8, 12)))
        # Bottom-up: nodes in reverse order; per node its representative classes' groups of calls,
        # and (unless every class is its own representative) every class's copies and sums.
        budget = policy == "budget"
        g_ptr, g_ci, ge_ptr, fused = [0], [], [0], []
        m_ptr, m_ci, m_ri, me_ptr, leaf_ptr, leaf = [0], [], [], [0], [0], []
        ge: list[tuple[Any, ...]] = []
        me: list[tuple[Any, ...]] = []
        for i in reversed(tm.order):
            rep = tm.rep[i]
            by_class = tm.pairs_by_class[i]
            for c, ks in by_class.items():
                if rep[c] != c:
                    continue
                g_ci.append(c * n + i)
                for k in ks:
                    fb = tm.fb_edge[k]
                    mode = 2 if budget and tm.retry[k] else (1 if edge_allowed[k] > 1 else 0)
                    ge.append((c * e + k, c * n + tm.dst[k], tm.dst[k], k, c * e + fb if fb >= 0 else -1, mode,
                               tm.timeout[k], tm.calls[k], edge_allowed[k] > 1, tm.is_fb[k],
                               tm.required[k] or fb >= 0))
                ge_ptr.append(len(ge))
            g_ptr.append(len(g_ci))
            is_fused = all(rep[c] == c for c in by_class)
            fused.append(is_fused)
            if not is_fused:
                for c, ks in by_class.items():
                    r = rep[c]
                    m_ci.append(c * n + i)
                    m_ri.append(r * n + i)
                    for k in ks:
                        me.append((c * e + k, r * e + k, k, tm.dst[k],
                                   bool(budget and tm.retry[k]) or edge_allowed[k] > 1))
                    me_ptr.append(len(me))
            m_ptr.append(len(m_ci))
            if not by_class:
                leaf += [c * n + i for c in tm.classes_at[i]]
            leaf_ptr.append(len(leaf))
        gc = list(zip(*ge)) if ge else [()] * 11
        mc = list(zip(*me)) if me else [()] * 5
        self.bu = (np.array(g_ptr, dtype=ip), np.array(g_ci, dtype=ip), np.array(ge_ptr, dtype=ip),
                   *(np.array(gc[j], dtype=ip) for j in range(6)), np.array(gc[6], dtype=fp),
                   np.array(gc[7], dtype=fp), *(np.array(gc[j], dtype=np.bool_) for j in range(8, 11)),
                   np.array(m_ptr, dtype=ip), np.array(m_ci, dtype=ip), np.array(m_ri, dtype=ip),
                   np.array(me_ptr, dtype=ip), *(np.array(mc[j], dtype=ip) for j in range(4)),
                   np.array(mc[4], dtype=np.bool_), np.array(fused, dtype=np.bool_),
                   np.array(leaf_ptr, dtype=ip), np.array(leaf, dtype=ip))
        self.policy = POLICY_CODE[policy]
        self.deadline_cap = plan.deadline_cap
        self.calm = float(plan.allowed)


class ModelArrays:
    """What every policy's step reads of the model, as arrays (built once)."""

    def __init__(self, tm: TrafficModel) -> None:
        e = tm.e_count
        ck_c, ck_cd = [0], []
        cache_k = [k for k in range(e) if tm.cache_miss[k]]
        for k in cache_k:
            ck_cd += [(c * e + k, c * tm.n + tm.dst[k]) for c in range(tm.c_count) if tm.use[c][k]]
            ck_c.append(len(ck_cd))
        self.misc = (np.array(tm.is_cache, dtype=np.bool_), np.array(tm.hit_max, dtype=np.float64),
                     np.array([bool(p) for p in tm.pairs], dtype=np.bool_), np.array(tm.retry, dtype=np.bool_),
                     np.array([tm.src[k] for k in cache_k], dtype=np.intp),
                     np.array([tm.dst[k] for k in cache_k], dtype=np.intp), np.array(ck_c, dtype=np.intp),
                     np.array([p[0] for p in ck_cd], dtype=np.intp), np.array([p[1] for p in ck_cd], dtype=np.intp),
                     np.array(tm.cache_items, dtype=np.float64),
                     np.array([m.backoff_wait_max(j) for j in range(1, 64)], dtype=np.float64))
        self.plans = {p: KernelPlan(tm, p) for p in tm.plans}
        self.root = np.array(tm.root, dtype=np.intp)
        self.avail: tuple[Any, np.ndarray] = (None, np.zeros(0))
        self._allowed: tuple[Any, np.ndarray] = (None, np.zeros(0))
        self.extra: tuple[Any, np.ndarray] = (tm.st.extra_lat, np.asarray(tm.st.extra_lat, dtype=np.float64))
        cn, ce = tm.c_count * tm.n, tm.c_count * e
        # Scratch space of the kernel: arrivals (also the state's, as on the pure path a new list each
        # step: nothing holds it past the step), arrivals without retries, latency of the answered
        # requests, attempts and deadline shares per representative pair, sums per call.
        self.scratch = (np.zeros(cn), np.zeros(cn), np.zeros(cn), np.ones(ce), np.zeros(ce), np.zeros(ce),
                        np.zeros(e), np.zeros(e), np.zeros(e), np.zeros(e))

    def allowed_array(self, allowed: Any) -> np.ndarray:
        """st.allowed as an array: a list (until the deadline caps attempts) converted once per list."""
        if isinstance(allowed, np.ndarray):
            return allowed
        if self._allowed[0] is not allowed:
            self._allowed = (allowed, np.asarray(allowed, dtype=np.float64))
        return self._allowed[1]

    def buffers(self, st: Any) -> tuple[np.ndarray, ...]:
        """The kernel's `bufs`: the state's arrays it writes in place (as sim.vector does), then scratch."""
        arr, arr1, lok, att_r, f_x, f_rx, e_load, e_fail, f_time, f_all = self.scratch
        return (st.edge_load, st.edge_load1, st.calls_eff, st.p_att, st.p_retry, st.s_call, st.succ, st.qual,
                st.lat, lok, arr, arr1, att_r, f_x, f_rx, e_load, e_fail, f_time, f_all)


def compile_for(tm: TrafficModel, ka: ModelArrays) -> float:
    """Compile the kernel and the classifier's codes (or load them from numba's cache) if this process
    has not yet: one call each on this model's state, with copies of the buffers the kernel writes in
    place, so the state is left as it was. Returns the seconds it took (0 when they were ready), so
    that a run's time budget leaves it out."""
    kernel = _compiled.get("kernel")
    if kernel is None or kernel.signatures:
        return 0.0
    from .states import classify_codes  # noqa: PLC0415 — states imports traffic, which imports this module

    t = time.perf_counter()
    st = tm.st
    try:
        kernel(*_args(tm, ka, 1.0, np.ones(tm.n), np.asarray(tm.normal_demand(1.0)), False, False),
               tuple(b.copy() for b in ka.buffers(st)))
        i, f, b = np.zeros(0, np.intp), np.zeros(0), np.zeros(0, np.bool_)
        jit("classify", classify_codes)(i, i, i, i, i, f, i, i, f, b, f, f, f, f, b, b, False)
    except Exception:   # noqa: BLE001 — a kernel that cannot compile here: the numpy step runs instead
        log.exception("the compiled step is not available; large architectures step in numpy")
        _compiled["kernel"] = None
        tm.ka = None
    return time.perf_counter() - t


def wanted(graph: Any) -> bool:
    """Whether runs on this architecture step over arrays (VECTOR_MIN_NODES traffic nodes or more),
    and so compiled where numba is installed."""
    from .architecture import TRAFFIC_KINDS  # noqa: PLC0415
    from .traffic import VECTOR_MIN_NODES  # noqa: PLC0415

    return sum(1 for _, d in graph.nodes(data=True) if d.get("kind") in TRAFFIC_KINDS) >= VECTOR_MIN_NODES


def prepare() -> bool:
    """Have the compiled step ready in this process: numba imported, the kernel compiled or loaded
    from its cache (the simulation worker does this before its first large architecture's run,
    ui/pool.py). False when numba is not installed or is switched off. Never raises."""
    try:
        if not available():
            return False
        from .architecture import default_architecture  # noqa: PLC0415 — traffic imports this module
        from .scenario import Scenario  # noqa: PLC0415
        from .traffic import TrafficModel  # noqa: PLC0415

        TrafficModel(default_architecture(), Scenario(), vectorised=True, use_compiled=True)   # compile_for
        return _compiled.get("kernel") is not None
    except Exception:  # noqa: BLE001 — a worker must start even if this fails; runs will say why
        log.exception("could not prepare the compiled step")
        return False


def _args(tm: TrafficModel, ka: ModelArrays, dt: float, avail: np.ndarray, demand: np.ndarray, shedding: bool,
          breakers: bool) -> tuple[Any, ...]:
    st = tm.st
    kp = ka.plans[st.policy]
    return (kp.td, kp.bu, ka.misc, kp.policy, kp.deadline_cap, kp.calm, float(tm.s.max_retries), tm.n, tm.e_count,
            tm.c_count, float(dt), np.asarray(st.capacity if len(st.capacity) else np.zeros(tm.n), dtype=np.float64),
            avail, demand, ka.root, bool(shedding), bool(breakers), float(st.now), st.queue, st.warm,
            ka.allowed_array(st.allowed), st.breaker_until, st.half_open, ka.extra[1])


def step(tm: TrafficModel, ka: ModelArrays, dt: float, avail: list[float], demand: list[float], shedding: bool,
         breakers: bool) -> None:
    """One step of TrafficModel.step, compiled (see the module's docstring)."""
    st = tm.st
    kp = ka.plans[st.policy]
    if st.cap_dirty or avail != st.cap_avail:
        st.capacity = np.array(tm.capacity_for(avail), dtype=np.float64)
        st.cap_avail, st.cap_dirty = list(avail), False
    # Lists the interventions replace (never edit) are converted once per new list.
    if ka.avail[0] is not st.cap_avail:
        ka.avail = (st.cap_avail, np.asarray(st.cap_avail, dtype=np.float64))
    if ka.extra[0] is not st.extra_lat:
        ka.extra = (st.extra_lat, np.asarray(st.extra_lat, dtype=np.float64))
    bufs = ka.buffers(st)
    out = _compiled["kernel"](*_args(tm, ka, dt, ka.avail[1], np.asarray(demand, dtype=np.float64), shedding,
                                     breakers), bufs)
    (st.send, st.queue, st.arrivals_total, st.own_ok, st.util, st.wait, allowed, st.node_ok, st.edge_fail,
     st.breaker_until, st.half_open, st.warm, amp) = out
    st.arrivals = bufs[10]
    if kp.deadline_cap:
        st.allowed = allowed
    st.amplification = float(amp)
    st.now += dt


def _kernel(td: Any, bu: Any, misc: Any, policy: int, capped: bool, calm: float, r_max: float, n: int, e: int,
            c_count: int, dt: float, cap: Any, avail: Any, demand: Any, root: Any, shedding: bool, breakers: bool,
            now: float, queue_in: Any, warm_in: Any, allowed_now: Any, until_in: Any, half_in: Any, extra_lat: Any,
            bufs: Any) -> Any:
    """TrafficModel.step's loops, written as the pure path writes them (same order, same arithmetic).

    `bufs` are written in place (a fresh array per step costs more than the arithmetic): the state's
    per-(class, call) and per-(class, node) fields, each of whose entries in use is written every step
    (the others keep their initial values, as in fresh arrays), and scratch space. p_retry and s_call
    are the last step's until the top-down pass has read them. Every other result is a new array."""
    (eload, eload1, calls_eff, p_att, p_retry, s_call, succ, qual, lat, lok, arr, arr1, att_r, f_x, f_rx,
     e_load, e_fail, f_time, f_all) = bufs
    p_prev, s_prev = p_retry, s_call
    (order, td_ci_ptr, td_ci, td_p_ptr, p_ck, p_k, p_ci, p_cd, p_rck, p_rprim, p_calls_prim, p_calls_k,
     p_is_fb, p_cache_miss, p_retried, p_backend) = td
    (g_ptr, g_ci, ge_ptr, ge_ck, ge_cd, ge_d, ge_k, ge_fb, ge_mode, ge_tout, ge_calls, ge_retried, ge_is_fb,
     ge_needed, m_ptr, m_ci, m_ri, me_ptr, me_ck, me_rk, me_k, me_d, me_mode, fused, leaf_ptr, leaf) = bu
    (is_cache, hit_max, has_pairs, retry, cache_src, cache_dst, cache_ptr, cache_ck, cache_cd, cache_items,
     wait_max) = misc
    budget = policy == 3
    backoff = policy == 2
    send = np.ones(e)
    if breakers:
        for k in range(e):
            if until_in[k] > now:
                send[k] = 0.0
            elif half_in[k]:
                send[k] = BREAKER_PROBE

    # Top-down: load.
    arr[:] = 0.0
    arr1[:] = 0.0
    for c in range(c_count):
        arr[c * n + root[c]] = demand[c]
        arr1[c * n + root[c]] = demand[c]
    queue = queue_in.copy()
    own_ok = np.ones(n)
    util = np.zeros(n)
    wait = np.zeros(n)
    a_tot = np.zeros(n)
    amp_total = 0.0
    amp_first = 0.0
    # Attempts per call, once per representative pair (the other classes' pairs read theirs).
    for p in range(len(p_ck)):
        rk = p_rck[p]
        if p_ck[p] != rk:
            continue
        att = 1.0
        if p_retried[p] and p_prev[rk] != 1.0:
            f = 1.0 - p_prev[rk]                    # m.policy_attempts, inline (same arithmetic)
            r1 = (allowed_now[p_k[p]] - 1) + 1.0
            att = r1 if f >= 1.0 - 1e-12 else (1.0 - f ** r1) / (1.0 - f)
            if budget:
                cap_b = 1.0 + m.RETRY_BUDGET_RATIO * (1.0 - f)
                att = cap_b if cap_b < att else att
        att_r[rk] = att
    for j in range(len(order)):
        i = order[j]
        a = 0.0
        for x in range(td_ci_ptr[j], td_ci_ptr[j + 1]):
            a += arr[td_ci[x]]
        a_tot[i] = a
        cap_i = cap[i]
        if a <= cap_i and queue[i] == 0.0:
            admitted = a
            served = a
        else:                                   # m.queue_step, inline (same arithmetic)
            q = queue[i]
            cap0 = cap_i if cap_i > 0.0 else 0.0
            limit = cap0 * (0.2 if shedding else 30.0)
            room = limit - q
            room = (0.0 if 0.0 > room else room) / dt + cap0
            admitted = a if a < room else room
            new_q = q + (admitted - cap0) * dt
            new_q = 0.0 if 0.0 > new_q else new_q
            new_q = limit if limit < new_q else new_q
            served = admitted + q / dt
            served = served if served < cap0 else cap0
            wait[i] = 0.5 * ((limit if limit < q else q) + new_q) / cap0 if cap0 > 0.0 else 0.0
            queue[i] = new_q
        util[i] = a / cap_i if cap_i > 0 else (math.inf if a > 0 else 0.0)
        if a > 0:
            own_ok[i] = admitted / a
            ratio = served / a
        else:
            own_ok[i] = 1.0 if cap_i > 0 else 0.0
            ratio = 0.0
        miss = 1.0 - hit_max[i] * warm_in[i] if is_cache[i] else 1.0
        for p in range(td_p_ptr[j], td_p_ptr[j + 1]):
            k = p_k[p]
            if p_is_fb[p]:
                calls = p_calls_prim[p] * (1.0 - s_prev[p_rprim[p]])
            elif p_cache_miss[p]:
                calls = p_calls_k[p] * miss
            else:
                calls = p_calls_k[p]
            if breakers:
                calls *= send[k]
            ck = p_ck[p]
            calls_eff[ck] = calls
            base1 = arr1[p_ci[p]] * ratio * calls
            base = arr[p_ci[p]] * ratio * calls
            if p_retried[p]:
                base *= att_r[p_rck[p]]             # × 1.0 when nothing failed: exact either way
            eload[ck] = base
            eload1[ck] = base1
            arr[p_cd[p]] += base
            arr1[p_cd[p]] += base1
            if p_backend[p]:
                amp_total += base
                amp_first += base1
    amp = amp_total / amp_first if amp_first > 0 else 1.0

    # Bottom-up: success, quality and latency per class.
    # (every (class, node) read below was written earlier in this pass: callees come first)
    e_load[:] = 0.0
    e_fail[:] = 0.0
    f_time[:] = 0.0
    f_all[:] = 0.0
    ok_sum = np.zeros(n)
    best = np.zeros(n)
    slowed = False
    for k in range(e):
        if extra_lat[k] != 0.0:
            slowed = True
    nn = len(order)
    for jj in range(nn):
        i = order[nn - 1 - jj]
        u = util[i]
        u1 = u if u < 1.0 else 1.0
        own_lat = BASE_SERVICE_S / (1.0 - (0.95 if 0.95 < u1 else u1)) + wait[i]
        for x in range(leaf_ptr[jj], leaf_ptr[jj + 1]):
            lat[leaf[x]] = own_lat
            lok[leaf[x]] = own_lat
        is_fused = fused[jj]
        for gg in range(g_ptr[jj], g_ptr[jj + 1]):
            ci = g_ci[gg]
            s_i, q_i, lat_i, lok_i = 1.0, 1.0, own_lat, own_lat
            for y in range(ge_ptr[gg], ge_ptr[gg + 1]):
                ck, cd, d, k, t_out = ge_ck[y], ge_cd[y], ge_d[y], ge_k[y], ge_tout[y]
                retried, mode = ge_retried[y], ge_mode[y]
                allowed = allowed_now[k] if retried else 1.0
                lat_d, lok_d = lat[cd], lok[cd]
                if slowed:
                    lat_d += extra_lat[k]
                    lok_d += extra_lat[k]
                s_d = succ[cd]
                if lok_d * LATE_NEGLIGIBLE < t_out:
                    fine = s_d
                else:                               # m.late_share, inline (same arithmetic)
                    r = t_out / lok_d if lok_d > 1e-9 else 40.0
                    fine = s_d * (1.0 - (math.exp(-0.5 * r * r) if r < 40.0 else 0.0))
                gate = send[k] if breakers else 1.0
                open_ = gate < 1.0
                pa_sent = own_ok[d] * fine
                pa = gate * pa_sent
                shed = gate * (1.0 - own_ok[d]) if shedding else 0.0
                rx = 1.0 - pa - shed
                p_retry[ck] = 1.0 - rx
                fa = -1.0                           # rx ** allowed, once computed (the same bits twice)
                if allowed > 1.0:
                    if rx >= 1.0 - 1e-12:
                        tries = allowed
                    else:
                        fa = rx ** allowed
                        tries = (1.0 - fa) / (1.0 - rx)
                else:
                    tries = 1.0
                if mode == 0:
                    sc = pa
                elif mode == 1:
                    sc = pa * tries
                else:                               # m.budget_call_success, inline
                    xb = rx
                    rb = m.RETRY_BUDGET_RATIO * pa / (1e-9 if 1e-9 > xb else xb)    # max(x, 1e-9)
                    sc = pa + xb * (rb if rb < 1.0 else 1.0) * pa                     # min(1.0, …)
                if capped and mode != 0:
                    f_x[ck] = (1.0 - s_d) * (lat_d if lat_d < t_out else t_out) / t_out + (s_d - fine)
                    f_rx[ck] = rx
                    if is_fused:
                        load_k = eload[ck]
                        if load_k != 0.0:
                            f_time[k] += load_k * gate * own_ok[d] * f_x[ck]
                            f_all[k] += load_k * rx
                q_d = qual[cd]
                sq = sc if q_d == s_d else (sc * q_d / s_d if s_d > 1e-12 else 0.0)
                p_att[ck] = pa_sent
                s_call[ck] = sc
                if is_fused:
                    xl = eload[ck]
                    if xl != 0.0:
                        e_load[k] += xl
                        e_fail[k] += xl * (1.0 - sc)
                if ge_is_fb[y]:
                    continue
                if open_:
                    qn = (calls_eff[ck] / gate if gate > 0.0 else ge_calls[y])
                else:
                    qn = calls_eff[ck]
                fb_ck = ge_fb[y]
                eff = sc + (1.0 - sc) * s_call[fb_ck] if fb_ck >= 0 else sc
                factor = eff if ge_needed[y] else 1.0
                if qn <= 1.0:
                    s_i *= 1.0 - qn * (1.0 - factor)
                    q_i *= 1.0 - qn * (1.0 - sq)
                else:
                    s_i *= factor ** qn
                    q_i *= sq ** qn
                t_att = own_ok[d] * (lat_d if lat_d < t_out else t_out)
                lat_call = tries * t_att
                if backoff:                         # m.backoff_mean_wait, inline
                    total_w, kk, left = 0.0, 1, tries - 1.0
                    while left > 0.0:
                        total_w += (left if left < 1.0 else 1.0) * wait_max[kk - 1] / 2.0
                        left -= 1.0
                        kk += 1
                    lat_call += total_w * t_out
                lat_i += qn * lat_call
                if sc > 0.999999:
                    lok_i += qn * lok_d
                else:
                    w = qn * factor / (1.0 - qn * (1.0 - factor)) if qn < 1.0 else qn
                    if rx <= 1e-12:
                        fbs = 0.0
                    elif rx >= 1.0 - 1e-9:
                        fbs = (allowed - 1.0) / 2.0
                    else:
                        if fa < 0.0:
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
            succ[ci] = s_i
            qual[ci] = q_i
            lat[ci] = lat_i
            lok[ci] = lok_i
            if is_fused:
                ok_sum[i] += arr[ci] * s_i
                best[i] = s_i if s_i > best[i] else best[i]
        for mm in range(m_ptr[jj], m_ptr[jj + 1]):
            ci, ri = m_ci[mm], m_ri[mm]
            if ci != ri:
                succ[ci], qual[ci], lat[ci], lok[ci] = succ[ri], qual[ri], lat[ri], lok[ri]
            s_i = succ[ri]
            for y in range(me_ptr[mm], me_ptr[mm + 1]):
                ck, rk, k, d = me_ck[y], me_rk[y], me_k[y], me_d[y]
                if ck != rk:
                    p_retry[ck], p_att[ck], s_call[ck] = p_retry[rk], p_att[rk], s_call[rk]
                xl = eload[ck]
                if xl != 0.0:
                    e_load[k] += xl
                    e_fail[k] += xl * (1.0 - s_call[rk])
                    if capped and me_mode[y]:
                        f_time[k] += xl * (send[k] if breakers else 1.0) * own_ok[d] * f_x[rk]
                        f_all[k] += xl * f_rx[rk]
            ok_sum[i] += arr[ci] * s_i
            best[i] = s_i if s_i > best[i] else best[i]

    node_ok = np.empty(n)
    for i in range(n):
        node_ok[i] = (ok_sum[i] / a_tot[i] if a_tot[i] > 0 else (best[i] if has_pairs[i] else 1.0)) * own_ok[i]
    allowed_new = np.empty(e)
    if capped:                              # m.attempts_in_deadline, inline
        for k in range(e):
            if not retry[k]:
                allowed_new[k] = 1.0
            elif f_all[k] > 1e-12:
                ft = f_time[k] / f_all[k]
                ft = ft if ft < 1.0 else 1.0                                # min(1.0, ft)
                if ft <= 1e-9:
                    allowed_new[k] = r_max + 1.0
                else:
                    v = m.DEADLINE_TIMEOUTS / ft
                    v = v if v < r_max + 1.0 else r_max + 1.0               # min(r_max + 1, v)
                    allowed_new[k] = v if v > 1.0 else 1.0                  # max(1.0, v)
            else:
                allowed_new[k] = calm
    edge_fail = np.empty(e)
    for k in range(e):
        edge_fail[k] = 1.0 if send[k] == 0.0 else (e_fail[k] / e_load[k] if e_load[k] > 0 else 0.0)
    until = until_in.copy()
    half = half_in.copy()
    if breakers:                            # TrafficModel._update_breakers
        for k in range(e):
            load = 0.0
            fail = 0.0
            for c in range(c_count):
                xl = eload[c * e + k]
                load += xl
                fail += xl * (1.0 - p_att[c * e + k])
            if until[k] > now:
                continue
            if load > 0 and fail / load > BREAKER_TRIP:
                until[k] = now + BREAKER_OPEN_S
                half[k] = True
            elif load > 0 and half[k]:
                half[k] = False
    warm = warm_in.copy()
    for x in range(len(cache_src)):         # TrafficModel._update_caches, m.warm_cache inline
        c_node, d = cache_src[x], cache_dst[x]
        if avail[c_node] <= 0.0:
            continue
        fills = 0.0
        for y in range(cache_ptr[x], cache_ptr[x + 1]):
            fills += eload[cache_ck[y]] * succ[cache_cd[y]]
        fr = warm[c_node]
        items = cache_items[c_node]
        share = fills * own_ok[d] * dt / (1e-9 if 1e-9 > items else items)     # max(items, 1e-9)
        v = fr + (1.0 - fr) * (share if share < 1.0 else 1.0)                     # min(1.0, share)
        warm[c_node] = v if v < 1.0 else 1.0
    return send, queue, a_tot, own_ok, util, wait, allowed_new, node_ok, edge_fail, until, half, warm, amp

