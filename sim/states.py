"""Node states per step and the plain-words cause of every change.

States are derived from the traffic model's numbers with hysteresis (enter at one threshold,
leave at a gentler one) so a node hovering at a boundary does not flood the event log.
Causes are composed only when a state changes, which keeps the per-step cost vectorised.
"""

from __future__ import annotations

import networkx as nx

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
