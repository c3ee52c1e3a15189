"""Server groups: one per (node, hall), booted while its hall has power — and the availability
each node gets from them. Shared by the fast engine and the request-level reference so both see
the same power timeline, boot jitter included.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any

import networkx as nx
import simpy
from simpy.events import Event as _SimEvent

BOOT_JITTER = (0.8, 1.25)           # [assumption] spread of boot times around boot_min


class AfterFacility(_SimEvent):
    """A timeout processed after every ordinary event at the same instant (priority 2), so a
    step sees every facility change that happens at its own time."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, 2, delay)  # type: ignore[arg-type]  # simpy: priority after NORMAL (1)


class ServerGroups:
    """Boots, power losses and the availability they give each node.

    `on_lost(node, share)` is called when a hall's loss takes `share` of a node's servers down
    (caches lose their contents); `dirty` says availability must be read again.
    """

    def __init__(self, env: simpy.Environment, g: nx.DiGraph, rng: random.Random,
                 on_lost: Callable[[str, float], None]) -> None:
        self.env, self.g, self.rng, self.on_lost = env, g, rng, on_lost
        self.groups: dict[str, dict[str, bool]] = {
            n: {h: True for h in d["halls"]} for n, d in g.nodes(data=True) if d.get("halls")}
        self.booting: dict[tuple[str, str], simpy.Process] = {}
        needs_first = [n for n in nx.topological_sort(
            nx.DiGraph([(v, u) for u, v, k in g.edges(data="kind") if k == "needs"])) if n in self.groups]
        self.order = needs_first + [n for n in self.groups if n not in needs_first]
        self.dirty = True

    def on_hall(self, hall: str, on: bool) -> list[str]:
        """A hall's power changed: boot its groups or take them down. Returns the nodes affected."""
        affected = []
        for node, groups in self.groups.items():
            if hall not in groups:
                continue
            affected.append(node)
            proc = self.booting.pop((node, hall), None)
            if proc is not None and proc.is_alive:
                proc.interrupt()
            if on:
                self.booting[(node, hall)] = self.env.process(self._boot(node, hall))
            else:
                if groups[hall]:
                    self.on_lost(node, 1.0 / len(groups))
                groups[hall] = False
        self.dirty = True
        return affected

    def _boot(self, node: str, hall: str) -> Generator[Any, Any, None]:
        minutes = self.g.nodes[node].get("boot_min", 3.0) * self.rng.uniform(*BOOT_JITTER)
        try:
            yield self.env.timeout(minutes * 60.0)
            self.groups[node][hall] = True
            self.dirty = True
        except simpy.Interrupt:
            return

    def availability(self) -> dict[str, float]:
        """Share of each node's servers that are powered, booted and can reach what they need."""
        avail: dict[str, float] = {}
        for node in self.order:
            groups = self.groups[node]
            share = sum(groups.values()) / len(groups)
            if any(avail.get(need, 1.0) <= 0.0 for need in self.g.nodes[node].get("needs", ())):
                share = 0.0
            avail[node] = share
        return avail

    def booting_nodes(self, hall_on: Callable[[str], bool]) -> dict[str, bool]:
        """Nodes with a group whose hall is on but which has not finished booting."""
        return {node: any(not booted and hall_on(h) for h, booted in g.items())
                for node, g in self.groups.items()}
