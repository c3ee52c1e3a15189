"""Node states per step and the plain-words cause of every change.

States are derived from the traffic model's numbers with hysteresis (enter at one threshold,
leave at a gentler one) so a node hovering at a boundary does not flood the event log.
Causes are composed only when a state changes, which keeps the per-step cost vectorised.
"""

from __future__ import annotations

from array import array
from typing import Any

import networkx as nx
import numpy as np

from . import compiled
from .clock import State
from .timeline import DEGRADED, DOWN, OVERLOADED, RECOVERING, STATES, UP, Event
from .traffic import TrafficModel

OVERLOAD_ENTER, OVERLOAD_LEAVE = 1.05, 0.95
DEGRADED_ENTER, DEGRADED_LEAVE = 0.95, 0.98
FEATURE_DOWN_ENTER, FEATURE_DOWN_LEAVE = 0.5, 0.6
PERSONALISED_ENTER, PERSONALISED_LEAVE = 0.9, 0.95
CACHE_WARM = 0.8
SEVERITY = {UP: 0, RECOVERING: 1, DEGRADED: 1, OVERLOADED: 2, DOWN: 3}
BACKLOG_REPLAYING = 1000.0          # events


class Classifier:
    def __init__(self, g: nx.DiGraph, model: TrafficModel) -> None:
        self.g, self.model = g, model
        self.node_ids: list[str] = list(g.nodes)
        self.pos = {n: i for i, n in enumerate(self.node_ids)}
        self.edge_ids: list[tuple[str, str]] = list(g.edges)
        # fac_worst: the worst state each facility node was in since the last step (a blip shows)
        self.st = State(codes=[UP] * len(self.node_ids), fac_state={}, fac_worst={}, hall_cause={}, pending=[],
                        pers_low=False)
        self.label = {n: str(d.get("label", n)) for n, d in g.nodes(data=True)}
        self.traffic_pos = [self.pos[n] for n in model.ids]
        self.infra = [n for n, d in g.nodes(data=True) if d["kind"] == "infrastructure"]
        self.consumer = [n in model.consumers for n in model.ids]
        midx = {e: k for k, e in enumerate(model.edge_ids)}
        self.edge_model = [midx.get(e, -1) for e in self.edge_ids]
        self.edge_target = [self.pos[v] for _, v in self.edge_ids]
        # The feature whose answers can be personalised or generic (role "feed"), if any.
        self.feed = next((n for n, d in g.nodes(data=True) if d["kind"] == "feature" and d.get("role") == "feed"), None)
        self.vec = _VectorClassifier(self) if model.over_arrays else None

    @property
    def codes(self) -> list[int]:
        return self.st.codes

    @property
    def hall_cause(self) -> dict[str, str]:
        return self.st.hall_cause

    def set_facility(self, node: str, state: str, cause: str, t: float) -> None:
        code = STATES.index(state)
        old = self.st.fac_state.get(node, (UP, ""))[0]
        self.st.fac_state[node] = (code, cause)
        if code != old:
            self.st.pending.append(Event(float(t), node, state, cause))
            worst = self.st.fac_worst.get(node, code)
            self.st.fac_worst[node] = code if SEVERITY[code] >= SEVERITY[worst] else worst

    # ---- per step -------------------------------------------------------------------------
    def classify(self, t: float, avail: dict[str, float], booting: dict[str, bool],
                 backlog: float) -> tuple[list[int], list[Event]]:
        m = self.model
        st = self.st
        prev = st.codes
        new = list(prev)
        if st.fac_worst:
            for node, (code, _) in st.fac_state.items():
                worst = st.fac_worst.get(node, code)
                new[self.pos[node]] = worst if SEVERITY[worst] > SEVERITY[code] else code
            st.fac_worst = {}
        else:
            for node, (code, _) in st.fac_state.items():
                new[self.pos[node]] = code
        for node in self.infra:
            share, boot = avail.get(node, 1.0), booting.get(node, False)
            new[self.pos[node]] = RECOVERING if boot else DOWN if share <= 0 else DEGRADED if share < 1 else UP
        if self.vec is not None:                # large graphs: the same rules over arrays
            return self.vec.classify(t, new, avail, booting, backlog)
        ms = m.st
        capacity, util, node_ok, warm = ms.capacity, ms.util, ms.node_ok, ms.warm
        feed = self.feed
        is_feature, is_cache, consumer = m.is_feature, m.is_cache, self.consumer
        for i, node in enumerate(m.ids):
            p = self.traffic_pos[i]
            was = prev[p]
            deg_thr = DEGRADED_LEAVE if was == DEGRADED else DEGRADED_ENTER
            if is_feature[i]:
                ok = m.class_success(node)
                down_thr = FEATURE_DOWN_LEAVE if was == DOWN else FEATURE_DOWN_ENTER
                code = DOWN if ok < down_thr else DEGRADED if ok < deg_thr else UP
                if code == UP and node == feed:
                    pers = m.class_quality(node) / max(ok, 1e-9)
                    st.pers_low = pers < (PERSONALISED_LEAVE if st.pers_low else PERSONALISED_ENTER)
                    if st.pers_low:
                        code = DEGRADED
            else:
                share = avail.get(node, 1.0)
                ov_thr = OVERLOAD_LEAVE if was == OVERLOADED else OVERLOAD_ENTER
                if capacity[i] <= 1e-9:
                    code = DOWN
                elif util[i] > ov_thr:
                    code = OVERLOADED
                elif share < 1.0 and booting.get(node, False):
                    code = RECOVERING
                elif share < 1.0 or node_ok[i] < deg_thr:
                    code = DEGRADED
                elif (is_cache[i] and warm[i] < CACHE_WARM) or (consumer[i] and backlog > BACKLOG_REPLAYING):
                    code = RECOVERING
                else:
                    code = UP
            new[p] = code
        st.codes = new
        events, st.pending = st.pending, []
        for j, (a, b) in enumerate(zip(prev, new)):
            if a != b:
                node = self.node_ids[j]
                if node not in st.fac_state:
                    events.append(Event(float(t), node, STATES[b], self.cause(node, b, a, avail, booting, backlog)))
        return new, events

    def edge_failures(self) -> list[float]:
        fails, codes = self.model.st.edge_fail, self.st.codes
        return [fails[k] if k >= 0 else (1.0 if codes[tgt] == DOWN else 0.0)
                for k, tgt in zip(self.edge_model, self.edge_target)]

    def edge_failure_row(self) -> array:
        """edge_failures() as the float32 row the records keep."""
        if self.vec is not None:
            return self.vec.edge_failure_row()
        return array("f", self.edge_failures())

    # ---- causes ---------------------------------------------------------------------------
    def cause(self, node: str, code: int, old: int, avail: dict[str, float], booting: dict[str, bool],
              backlog: float) -> str:
        m = self.model
        d = self.g.nodes[node]
        share = avail.get(node, 1.0)
        if d["kind"] == "feature":
            return self._feature_cause(node, code)
        if code == UP:
            if old in (DOWN, RECOVERING):
                return "warm again" if d["kind"] == "cache" else "back in service"
            return "back to normal"
        if code == RECOVERING:
            if booting.get(node):
                return f"booting — {self.hall_cause.get(node, 'power back')}"
            if d["kind"] == "cache":
                return f"warming up — hit ratio {m.hit_ratio(m.idx[node]):.0%} (cold after restart)"
            if d.get("consumes"):
                return f"replaying a backlog of {backlog:,.0f} events from the {self.label[d['consumes']]}"
            return "recovering"
        power = self._power_reason(node, share)
        if code == DOWN:
            return power or "no capacity left"
        i = m.idx.get(node)
        if code == OVERLOADED and i is not None:
            parts = [f"load {m.util[i]:.1f}× what it can serve"]
            if booting.get(node):
                parts.append("its servers are still booting")
            elif share < 1.0:
                parts.append("its own servers are down, traffic failed over to the secondary site")
            amp = m.retry_amplification()
            if amp > 1.3:
                parts.append(f"retries ×{amp:.1f}")
            if any(m.warm[c] < CACHE_WARM for c in m.caches_of.get(i, ())):
                parts.append("its cache is cold")
            return "; ".join(parts)
        if code == DEGRADED:
            if share <= 0:
                return f"served by the secondary site only — {power}"
            if share < 1.0:
                return f"{1 - share:.0%} of its servers down — {power}"
            worst = self.worst_dependency(node)
            if worst:
                return f"calls to the {self.label[worst]} failing"
            return "slow responses — callers time out"
        return STATES[code]

    def _power_reason(self, node: str, share: float) -> str:
        if share >= 1.0:
            return ""
        for need in self.g.nodes[node].get("needs", ()):
            if self.codes[self.pos[need]] == DOWN:
                return f"needs the {self.label[need]}, which is down"
        return self.hall_cause.get(node, "no power")

    def worst_dependency(self, node: str, cls: int | None = None) -> str | None:
        """The unhealthy callee whose calls fail most (for requests of class `cls`, if given)."""
        m = self.model
        i = m.idx.get(node)
        if i is None:
            return None
        best, best_f = None, 0.05
        classes = [cls] if cls is not None else m.classes_at[i]
        for c in classes:
            for k in m.pairs_by_class[i].get(c, ()):
                if m.is_fb[k]:
                    continue
                f = 1.0 - m.s_call[c * m.e_count + k]
                callee = m.ids[m.dst[k]]
                if f > best_f and self.codes[self.pos[callee]] != UP:
                    best, best_f = callee, f
        return best

    def culprit_chain(self, feature: str) -> list[str]:
        """Follow the worst-failing calls of one feature's requests down to the deepest culprit."""
        m = self.model
        cls = m.class_of.get(feature)
        chain: list[str] = []
        cur = feature
        while True:
            nxt = self.worst_dependency(cur, cls)
            if nxt is None or nxt in chain:
                return chain
            chain.append(nxt)
            cur = nxt

    def _feature_cause(self, node: str, code: int) -> str:
        m = self.model
        ok = m.class_success(node)
        if code == UP:
            return f"working again ({ok:.0%} succeed)"
        if node == self.feed and self.st.pers_low and ok >= DEGRADED_ENTER:
            return "generic feed — ranking unavailable, serving the popular-videos pool"
        chain = self.culprit_chain(node)
        if not chain:
            return f"{ok:.0%} succeed — requests time out"
        last = chain[-1]
        return f"{ok:.0%} succeed — {self.label[last]} {STATES[self.codes[self.pos[last]]]}"


def classify_codes(prev_a: Any, rest_pos: Any, rest_codes: Any, feat_pos: Any, feat_ci: Any, succ: Any, other: Any,
                    other_pos: Any, share: Any, boot: Any, cap_o: Any, util: Any, node_ok: Any, warm: Any,
                    is_cache: Any, consumer: Any, replaying: bool) -> Any:
    """_VectorClassifier.classify's codes, as loops: compiled by numba (sim.compiled.jit) when the
    model's step is. Classifier.classify's thresholds and if/elif chain, node by node (the feed's
    personalisation is applied after, in Python)."""
    new_a = prev_a.copy()
    for x in range(len(rest_pos)):
        new_a[rest_pos[x]] = rest_codes[x]
    for x in range(len(feat_pos)):
        was = prev_a[feat_pos[x]]
        ok = succ[feat_ci[x]]
        down_thr = FEATURE_DOWN_LEAVE if was == DOWN else FEATURE_DOWN_ENTER
        deg_thr = DEGRADED_LEAVE if was == DEGRADED else DEGRADED_ENTER
        new_a[feat_pos[x]] = DOWN if ok < down_thr else (DEGRADED if ok < deg_thr else UP)
    for x in range(len(other)):
        i = other[x]
        was = prev_a[other_pos[x]]
        deg_thr = DEGRADED_LEAVE if was == DEGRADED else DEGRADED_ENTER
        ov_thr = OVERLOAD_LEAVE if was == OVERLOADED else OVERLOAD_ENTER
        part = share[x] < 1.0
        if cap_o[x] <= 1e-9:
            code = DOWN
        elif util[i] > ov_thr:
            code = OVERLOADED
        elif part and boot[x]:
            code = RECOVERING
        elif part or node_ok[i] < deg_thr:
            code = DEGRADED
        elif (is_cache[x] and warm[i] < CACHE_WARM) or (replaying and consumer[x]):
            code = RECOVERING
        else:
            code = UP
        new_a[other_pos[x]] = code
    return new_a


class _VectorClassifier:
    """Classifier.classify's loop over traffic nodes and edge_failures, over arrays: for the graphs
    whose traffic model steps over arrays (sim.compiled, sim.vector), with the same thresholds in the
    same order, so the same codes and events. Holds only index arrays and caches keyed by the objects they were
    made from (never the run's state: snapshots are unaffected)."""

    def __init__(self, c: Classifier) -> None:
        m = c.model
        self.c, self.m = c, m
        n = m.n
        self.tpos = np.array(c.traffic_pos, dtype=np.intp)
        feat = [i for i in range(n) if m.is_feature[i]]
        other = [i for i in range(n) if not m.is_feature[i]]
        self.feat = np.array(feat, dtype=np.intp)
        self.feat_pos = self.tpos[self.feat]
        self.feat_ci = np.array([m.class_of[m.ids[i]] * n + i for i in feat], dtype=np.intp)
        self.feed_j = feat.index(m.idx[c.feed]) if c.feed is not None and c.feed in m.idx and m.idx[c.feed] in feat \
            else None
        self.other = np.array(other, dtype=np.intp)
        self.other_pos = self.tpos[self.other]
        self.other_ids = [m.ids[i] for i in other]
        self.cache = np.array([m.is_cache[i] for i in other], dtype=bool)
        self.consumer = np.array([c.consumer[i] for i in other], dtype=bool)
        em = np.array(c.edge_model, dtype=np.intp)
        self.e_has = em >= 0
        self.e_model = np.where(self.e_has, em, 0)
        self.e_target = np.array(c.edge_target, dtype=np.intp)
        traffic = set(c.traffic_pos)
        self.rest = [p for p in range(len(c.node_ids)) if p not in traffic]     # facility and infrastructure
        self.rest_pos = np.array(self.rest, dtype=np.intp)
        self._avail: Any = None
        self._booting: Any = None
        self._codes: Any = None             # the last codes list and its array
        self._cap: Any = None
        # With the compiled step, the codes are computed by the compiled loops (sim.compiled.jit).
        self.codes_kernel = compiled.jit("classify", classify_codes) if m.ka is not None else None

    def _share(self, avail: dict[str, float], booting: dict[str, bool]) -> tuple[np.ndarray, np.ndarray]:
        # The simulation replaces these dicts when the servers change and never edits them in place;
        # holding the dict itself keeps the identity check sound.
        if self._avail is None or self._avail[0] is not avail:
            self._avail = (avail, np.array([avail.get(x, 1.0) for x in self.other_ids], dtype=np.float64))
        if self._booting is None or self._booting[0] is not booting:
            self._booting = (booting, np.array([bool(booting.get(x, False)) for x in self.other_ids], dtype=bool))
        return self._avail[1], self._booting[1]

    def codes_array(self, codes: list[int]) -> np.ndarray:
        if self._codes is None or self._codes[0] is not codes:
            self._codes = (codes, np.array(codes, dtype=np.int64))
        return self._codes[1]

    def classify(self, t: float, new: list[int], avail: dict[str, float], booting: dict[str, bool],
                 backlog: float) -> tuple[list[int], list[Event]]:
        c, m = self.c, self.m
        st, ms = c.st, m.st
        prev = st.codes
        prev_a = self.codes_array(prev)
        if self.codes_kernel is not None:
            new_a = self._compiled_codes(prev_a, new, avail, booting, backlog)
            return self._changes(t, prev, prev_a, new_a, avail, booting, backlog)
        new_a = prev_a.copy()
        if self.rest:
            new_a[self.rest_pos] = [new[p] for p in self.rest]
        # features: success of their class
        was = prev_a[self.feat_pos]
        ok = np.asarray(ms.succ)[self.feat_ci]
        down_thr = np.where(was == DOWN, FEATURE_DOWN_LEAVE, FEATURE_DOWN_ENTER)
        deg_thr = np.where(was == DEGRADED, DEGRADED_LEAVE, DEGRADED_ENTER)
        code = np.where(ok < down_thr, DOWN, np.where(ok < deg_thr, DEGRADED, UP))
        j = self.feed_j
        if j is not None and code[j] == UP:
            feed_ok = float(ok[j])
            pers = m.class_quality(c.feed) / max(feed_ok, 1e-9)
            st.pers_low = pers < (PERSONALISED_LEAVE if st.pers_low else PERSONALISED_ENTER)
            if st.pers_low:
                code[j] = DEGRADED
        new_a[self.feat_pos] = code
        # every other traffic node: capacity, load, completions, its servers, cache and backlog
        o = self.other
        was = prev_a[self.other_pos]
        share, boot = self._share(avail, booting)
        if self._cap is None or self._cap[0] is not ms.capacity:
            self._cap = (ms.capacity, np.asarray(ms.capacity, dtype=np.float64)[o])
        util, node_ok = ms.util[o], ms.node_ok[o]
        part = share < 1.0
        deg_thr = np.where(was == DEGRADED, DEGRADED_LEAVE, DEGRADED_ENTER)
        ov_thr = np.where(was == OVERLOADED, OVERLOAD_LEAVE, OVERLOAD_ENTER)
        recovering = self.cache & (np.asarray(ms.warm)[o] < CACHE_WARM)
        if backlog > BACKLOG_REPLAYING:
            recovering |= self.consumer
        # the pure path's if/elif chain, applied from its last branch to its first
        code = np.where(recovering, RECOVERING, UP)
        code = np.where(part | (node_ok < deg_thr), DEGRADED, code)
        code = np.where(part & boot, RECOVERING, code)
        code = np.where(util > ov_thr, OVERLOADED, code)
        code = np.where(self._cap[1] <= 1e-9, DOWN, code)
        new_a[self.other_pos] = code
        return self._changes(t, prev, prev_a, new_a, avail, booting, backlog)

    def _compiled_codes(self, prev_a: np.ndarray, new: list[int], avail: dict[str, float],
                        booting: dict[str, bool], backlog: float) -> np.ndarray:
        c, m = self.c, self.m
        st, ms = c.st, m.st
        share, boot = self._share(avail, booting)
        if self._cap is None or self._cap[0] is not ms.capacity:
            self._cap = (ms.capacity, np.asarray(ms.capacity, dtype=np.float64)[self.other])
        new_a = self.codes_kernel(prev_a, self.rest_pos, np.array([new[p] for p in self.rest], dtype=np.int64),
                                  self.feat_pos, self.feat_ci, ms.succ, self.other, self.other_pos, share, boot,
                                  self._cap[1], ms.util, ms.node_ok, ms.warm, self.cache, self.consumer,
                                  backlog > BACKLOG_REPLAYING)
        j = self.feed_j
        if j is not None and new_a[self.feat_pos[j]] == UP:     # as in classify: the feed's personalisation
            feed_ok = float(ms.succ[self.feat_ci[j]])
            pers = m.class_quality(c.feed) / max(feed_ok, 1e-9)
            st.pers_low = pers < (PERSONALISED_LEAVE if st.pers_low else PERSONALISED_ENTER)
            if st.pers_low:
                new_a[self.feat_pos[j]] = DEGRADED
        return new_a

    def _changes(self, t: float, prev: list[int], prev_a: np.ndarray, new_a: np.ndarray, avail: dict[str, float],
                 booting: dict[str, bool], backlog: float) -> tuple[list[int], list[Event]]:
        c = self.c
        st = c.st
        new = new_a.tolist()
        st.codes = new
        self._codes = (new, new_a)
        events, st.pending = st.pending, []
        for j in np.flatnonzero(new_a != prev_a).tolist():
            node = c.node_ids[j]
            if node not in st.fac_state:
                b = new[j]
                events.append(Event(float(t), node, STATES[b], c.cause(node, b, prev[j], avail, booting, backlog)))
        return new, events

    def edge_failure_row(self) -> array:
        codes = self.codes_array(self.c.st.codes)
        row = np.where(self.e_has, self.m.st.edge_fail[self.e_model], codes[self.e_target] == DOWN)
        out = array("f")
        out.frombytes(row.astype(np.float32).tobytes())
        return out
