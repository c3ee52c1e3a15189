"""Server groups: one per (node, hall) — or one per node outside the halls — booted while it has
power and is not stopped, and the availability each node gets from them. Shared by the fast engine
and the request-level reference so both see the same power timeline, boot jitter included.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import networkx as nx

from .clock import Clock, State

BOOT_JITTER = (0.8, 1.25)           # [assumption] spread of boot times around boot_min
NO_HALL = ""                        # the one group of a node that runs outside the primary's halls
SERVER_KINDS = ("infrastructure", "datastore", "cache", "queue", "service", "edge")


class ServerGroups:
    """Boots, power losses, crashes (`node_stop`) and the availability they give each node.

    `on_lost(node, share)` is called when servers holding `share` of what a node's running servers
    hold go down (a cache loses that share of its contents: all of it when its last servers go);
    `st.dirty` says availability must be read again.
    """

    def __init__(self, clock: Clock, g: nx.DiGraph, rng: random.Random,
                 on_lost: Callable[[str, float], None]) -> None:
        self.clock, self.g, self.on_lost = clock, g, on_lost
        groups = {n: {h: True for h in (d.get("halls") or (NO_HALL,))}
                  for n, d in g.nodes(data=True) if d["kind"] in SERVER_KINDS}
        self.st = State(groups=groups, booting={}, stopped=set(), dirty=True, rng=rng)
        needs_first = [n for n in nx.topological_sort(
            nx.DiGraph([(v, u) for u, v, k in g.edges(data="kind") if k == "needs"])) if n in groups]
        first = set(needs_first)
        self.order = needs_first + [n for n in groups if n not in first]
        self.needs = {n: tuple(g.nodes[n].get("needs", ())) for n in groups}
        self.in_halls = {n: tuple(d.get("halls", ())) for n, d in g.nodes(data=True) if n in groups}
        clock.register("servers.booted", self._booted)

    @property
    def groups(self) -> dict[str, dict[str, bool]]:
        return self.st.groups

    @property
    def dirty(self) -> bool:
        return self.st.dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self.st.dirty = value

    def on_hall(self, hall: str, on: bool) -> list[str]:
        """A hall's power changed: boot its groups or take them down. Returns the nodes affected."""
        st = self.st
        affected = []
        for node, groups in st.groups.items():
            if hall not in groups:
                continue
            affected.append(node)
            self.clock.cancel(st.booting.pop((node, hall), None))
            if on:
                if node not in st.stopped:
                    self._boot(node, hall)
            else:
                if groups[hall]:    # its share of what the running servers hold: all, for the last one
                    self.on_lost(node, 1.0 / sum(groups.values()))
                groups[hall] = False
        st.dirty = True
        return affected

    def stop(self, node: str) -> None:
        """The node's servers crash (a `node_stop` intervention starts): every group goes down."""
        st = self.st
        st.stopped.add(node)
        groups = st.groups[node]
        if any(groups.values()):
            self.on_lost(node, 1.0)
        for hall in groups:
            self.clock.cancel(st.booting.pop((node, hall), None))
            groups[hall] = False
        st.dirty = True

    def start(self, node: str, hall_on: Callable[[str], bool]) -> None:
        """The crash is over (the intervention ends): groups with power boot again."""
        st = self.st
        st.stopped.discard(node)
        for hall in st.groups[node]:
            if hall == NO_HALL or hall_on(hall):
                self._boot(node, hall)
        st.dirty = True

    def _boot(self, node: str, hall: str) -> None:
        minutes = self.g.nodes[node].get("boot_min", 3.0) * self.st.rng.uniform(*BOOT_JITTER)
        self.st.booting[(node, hall)] = self.clock.after(minutes * 60.0, "servers.booted", node, hall)

    def _booted(self, node: str, hall: str) -> None:
        self.st.booting.pop((node, hall), None)
        self.st.groups[node][hall] = True
        self.st.dirty = True

    def availability(self) -> dict[str, float]:
        """Share of each node's servers that are powered, booted and can reach what they need."""
        avail: dict[str, float] = {}
        groups_of, needs_of = self.st.groups, self.needs
        for node in self.order:
            groups = groups_of[node]
            share = sum(groups.values()) / len(groups)
            needs = needs_of[node]
            if needs and any(avail.get(need, 1.0) <= 0.0 for need in needs):
                share = 0.0
            avail[node] = share
        return avail

    def booting_nodes(self, hall_on: Callable[[str], bool]) -> dict[str, bool]:
        """Nodes with a group whose hall is on (or that runs outside the halls) but which has not
        finished booting."""
        st = self.st
        stopped = st.stopped
        on: dict[str, bool] = {}                # hall_on per hall, asked once
        out: dict[str, bool] = {}
        for node, g in st.groups.items():
            found = False
            if node not in stopped:
                for h, booted in g.items():
                    if not booted:
                        if h == NO_HALL:
                            found = True
                            break
                        if h not in on:
                            on[h] = bool(hall_on(h))
                        if on[h]:
                            found = True
                            break
            out[node] = found
        return out
