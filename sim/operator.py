"""The incident team's actions, as the Explainer's action panel names them, turned into interventions.

Why here (not in the page): the player, `window.player.act(name, value)`, a shared link and the CLI all
mean the same change by "Shed load at 1:30", so one pure function makes it — an intervention added to
the scenario at that moment, like the power switch. Taking an action decides that kind from then on:
a later one of the same kind (and, for a node, the same node) is dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import networkx as nx

from .interventions import SERVING_KINDS, Intervention, InterventionError, failover_nodes
from .scenario import Scenario, ScenarioError


@dataclass(frozen=True)
class Action:
    label: str          # the control's accessible name, exactly (scripts and screen readers find it)
    kind: str           # the intervention kind it adds (sim.interventions)
    value: str          # "switch" (on/off), "share" (0-100 % let in), "node" (+ factor), "once"
    help: str


ACTIONS: tuple[Action, ...] = (
    Action("Shed load", "shed_load", "switch",
           "Servers reject what they cannot serve at once with “overloaded, do not retry”, keeping queues short."),
    Action("Block traffic / let it back in", "admit", "share",
           "Let only this share of users' requests in at the edge; the rest get “try again later”."),
    Action("Retry budget", "retry_budget", "switch",
           "A config push: clients retry only while retries stay a small share of their successes."),
    Action("Circuit breakers", "breakers", "switch",
           "Callers stop calling a service whose calls mostly fail, and probe it now and then."),
    Action("Add capacity", "add_capacity", "node",
           "Scale a service × N; the new servers take its boot time to start."),
    Action("Fail over", "failover", "node",
           "Send a service's traffic to another site's spare capacity, up to the failover headroom."),
    Action("Warm the caches", "warm_caches", "once",
           "Pre-load every running cache from a snapshot, so reopening does not meet cold caches."),
)
BY_LABEL = {a.label: a for a in ACTIONS}
BY_KIND = {a.kind: a for a in ACTIONS}
OPERATOR_KINDS = tuple(a.kind for a in ACTIONS)


class ActionError(ValueError):
    """An action cannot be taken; the message names what is allowed."""


def targets(graph: nx.DiGraph, label: str) -> list[str]:
    """Nodes an action can be aimed at on this architecture (empty for actions without a node)."""
    action = BY_LABEL[label]
    if action.kind == "add_capacity":
        return [n for n, d in graph.nodes(data=True) if d["kind"] in SERVING_KINDS and d["kind"] != "edge"]
    if action.kind == "failover":
        return failover_nodes(graph)
    return []


def is_on(scenario: Scenario, label: str, t_min: float) -> bool:
    """Whether a switch-like action (or a share below 100 %) is in force at t_min."""
    kind = BY_LABEL[label].kind
    return any(a.kind == kind and a.active(t_min * 60.0) for a in scenario.actions)


def act(scenario: Scenario, label: str, t_min: float, value: Any = True, node: str | None = None,
        graph: nx.DiGraph | None = None) -> Scenario:
    """The scenario with `label` taken at t_min. value: on/off for switches, 0-100 (% let in) for
    "Block traffic / let it back in", the factor for "Add capacity" (node required, as for "Fail over")."""
    action = BY_LABEL.get(label)
    if action is None:
        raise ActionError(f"unknown action {label!r}; actions: {', '.join(BY_LABEL)}")
    t = round(float(t_min), 6)
    if not 0.0 <= t <= scenario.duration_min:
        raise ActionError(f"{label}: minute {t:g} is outside the run (0 to {scenario.duration_min:g})")
    kind = action.kind
    if action.value == "node":
        if graph is not None and node not in targets(graph, label):
            raise ActionError(f"{label}: choose one of: {', '.join(targets(graph, label)) or 'none here'}")
        same = lambda a: a.kind == kind and a.node == node  # noqa: E731
    else:
        same = lambda a: a.kind == kind  # noqa: E731
    kept: list[Intervention] = []
    for a in scenario.actions:
        if action.value == "once" or not same(a) or a.start_min < t and a.end_min is not None and a.end_min <= t:
            kept.append(a)
        elif a.start_min < t:                      # in force now: it ends here
            kept.append(dataclasses.replace(a, end_min=t))
        # else: a later one of the same kind — this decision replaces it
    try:
        new = _new(action, t, value, node)
        if new is not None:
            kept.append(new)
        return scenario.replace(actions=tuple(kept))
    except (InterventionError, ScenarioError, TypeError, ValueError) as exc:
        raise ActionError(f"{label}: {exc}") from None


def _new(action: Action, t: float, value: Any, node: str | None) -> Intervention | None:
    if action.value == "switch":
        return Intervention(action.kind, start_min=t) if _truthy(value) else None
    if action.value == "share":
        share = float(value) / 100.0
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"let in {float(value):g} % of requests? Use 0 to 100")
        return None if share >= 1.0 else Intervention("admit", start_min=t, fraction=round(share, 4))
    if action.value == "node":
        if action.kind == "add_capacity":
            return Intervention("add_capacity", start_min=t, node=node, factor=float(value if value not in (True, None) else 2.0))
        return Intervention("failover", start_min=t, node=node) if _truthy(value) else None
    return Intervention(action.kind, start_min=t)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "on", "true", "yes")
    return bool(value)


def taken(scenario: Scenario, label_of: Any = str) -> list[dict[str, Any]]:
    """The operator actions in a scenario, in time order: [{name, t, value, node, text}] (for the
    player's list and `window.player.actions()`)."""
    out = []
    for a in scenario.actions:
        action = BY_KIND.get(a.kind)
        if action is None:
            continue
        value: Any = True
        if a.kind == "admit":
            value = round((a.fraction or 0.0) * 100.0, 2)
        elif a.kind == "add_capacity":
            value = a.factor
        out.append({"name": action.label, "t": a.start_min * 60.0, "end": None if a.end_min is None else a.end_min * 60.0,
                    "value": value, "node": a.node, "node_label": label_of(a.node) if a.node else None,
                    "text": a.text()})
    return out


__all__ = ["ACTIONS", "Action", "ActionError", "BY_LABEL", "OPERATOR_KINDS", "act", "is_on", "taken", "targets"]
