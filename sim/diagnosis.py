"""Why users are still affected, from the model's own state: the caption's "because".

At a moment when a feature fails, follow its requests down the call graph to the node where the
failure starts — the deepest node on its path that fails while everything it calls works — and say
what that node's numbers are: no running servers, or its load (and how much of it is retries)
against its capacity, and how long its queue makes requests wait. Nothing here is scripted: the
words are the traffic model's numbers at that step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

FAILING = 0.95          # a feature or node below this share of success counts as failing
FAILING_CALLS = 0.05    # a call failing (or answered too late) this often is followed to its callee
MAX_CLAUSES = 2         # causes named per caption; the rest are counted


@dataclass(frozen=True)
class Cause:
    """Where one feature's failure starts, with the numbers that sustain it."""

    features: tuple[str, ...]     # labels of the failing features it explains
    node: int                      # traffic-model index of the node where it starts
    text: str                      # "Auth service gets 4.0× its normal load (60 % retries) against 2.5× capacity"


class Diagnoser:
    """Reads a TrafficModel (sim.traffic) after a step; `label` gives a node's label from its id."""

    def __init__(self, model: Any, label: Callable[[str], str]) -> None:
        self.model, self.label = model, label
        n, e = model.n, model.e_count
        self.nodes_of = [[i for i in range(n) if c in model.classes_at[i] and not model.is_feature[i]]
                         for c in range(model.c_count)]
        self.callees: list[list[int]] = [[] for _ in range(n)]
        self.into: list[list[int]] = [[] for _ in range(n)]
        for k in range(e):
            if not model.is_fb[k]:
                self.callees[model.src[k]].append(model.dst[k])
            self.into[model.dst[k]].append(k)

    def __eq__(self, other: object) -> bool:   # no state of its own: equal when built alike
        return isinstance(other, Diagnoser) and (self.nodes_of, self.callees, self.into) == (
            other.nodes_of, other.callees, other.into)

    __hash__ = None  # type: ignore[assignment]

    def root(self, c: int) -> int | None:
        """Where class c's failure starts: from its feature, follow the call that fails most (late
        answers count: a callee with a full queue "works" but too late) until a node whose own calls
        work (None: nothing on its path fails)."""
        model = self.model
        st = model.st
        i, seen = model.root[c], set()
        while i not in seen:
            seen.add(i)
            worst, share = None, FAILING_CALLS
            for k in model.pairs_by_class[i].get(c, ()):
                if model.is_fb[k]:
                    continue
                if st.edge_fail[k] >= share:
                    worst, share = model.dst[k], st.edge_fail[k]
            if worst is None:
                break
            i = worst
        if model.is_feature[i]:
            return None
        return i

    def retry_share(self, i: int) -> float:
        """Share of the requests reaching node i that are retries (of its callers or further up)."""
        st, e = self.model.st, self.model.e_count
        total = first = 0.0
        for k in self.into[i]:
            for c in range(self.model.c_count):
                total += st.edge_load[c * e + k]
                first += st.edge_load1[c * e + k]
        return max(0.0, 1.0 - first / total) if total > 0 else 0.0

    def numbers(self, i: int) -> tuple[float, float]:
        """Node i's load and capacity, each as a multiple of its normal load."""
        st, l0 = self.model.st, self.model.L0[i]
        return st.arrivals_total[i] / l0, st.capacity[i] / l0

    def describe(self, i: int, booting: bool = False) -> str:
        st = self.model.st
        name = self.label(self.model.ids[i])
        load, cap = self.numbers(i)
        if cap <= 0:
            return f"{name} has no running servers" + (" (booting)" if booting else "")
        if st.own_ok[i] < FAILING or load > cap:
            retries = self.retry_share(i)
            why = f" ({retries:.0%} of it retries)" if retries >= 0.05 else ""
            wait = f", a {st.wait[i]:.0f}-s queue" if st.wait[i] >= 1.0 else ""
            return f"{name} gets {load:.1f}× its normal load{why} against {cap:.1f}× capacity{wait}"
        if st.wait[i] >= 1.0:
            return f"{name} answers too late: a {st.wait[i]:.0f}-s queue at {load:.1f}× its normal load against {cap:.1f}× capacity"
        return f"only {st.node_ok[i]:.0%} of {name}'s requests succeed"

    def causes(self, failing: list[tuple[int, str]], booting: dict[str, bool]) -> list[Cause]:
        """[(class, feature label)] of the failing features → their causes, grouped by root node."""
        groups: dict[int, list[str]] = {}
        for c, name in failing:
            r = self.root(c)
            if r is not None:
                groups.setdefault(r, []).append(name)
        out = [Cause(tuple(names), i, self.describe(i, booting.get(self.model.ids[i], False)))
               for i, names in groups.items()]
        order = {name: k for k, (_, name) in enumerate(failing)}       # the caller lists core features first
        return sorted(out, key=lambda c: (-len(c.features), min(order[f] for f in c.features)))


def sentence(causes: list[Cause], still: bool) -> str:
    """'Log in and Upload still failing: Auth service gets …; Feed failing: …'."""
    parts = []
    for cause in causes[:MAX_CLAUSES]:
        names = cause.features
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"{who} {'still ' if still else ''}failing: {cause.text}")
    more = len(causes) - MAX_CLAUSES
    return "; ".join(parts) + (f"; and {more} more cause{'s' if more > 1 else ''}" if more > 0 else "") + "."


__all__ = ["Cause", "Diagnoser", "sentence", "FAILING"]
