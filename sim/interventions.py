"""Interventions: every timed change to a run, as one kind of object in one ordered list.

Why one list: the Explainer's switch, a preset's scheduled operator step, a CLI `--action`, a link
and a scenario file all describe "from minute A (to minute B) this changes". Held as data in the
`Scenario`, every form is written and read by the same code, and shifting a scenario in time or
finding where two scenarios' pasts part works from the list alone, whatever the kinds.

Kinds (keys besides `start_min` and the optional `end_min`):
- `power`: the utility feed is off (the cut; `end_min` = when it is restored).
- `capacity_loss node= fraction=`: the node serves `fraction` less (a bad deploy, a noisy neighbour).
- `node_stop node=`: the node's servers crash at start and boot again at end (its boot time applies).
- `latency call=CALLER>CALLEE added_ms=`: every attempt on that call takes longer.
- `hall_power hall=`: one hall of the primary site loses power (its PDU fails): every server in it
  goes down, and boots again when the hall's power is back at end (the blast radius of a hall).
- `load_surge factor= [feature=]`: demand × factor, for one feature or all.
- `shed_load`: operators turn load shedding on (off again at end).
Operators' actions during an incident (the Explainer's action panel, sim.operator):
- `admit fraction=`: only `fraction` of users' requests are let in; the rest are turned away at the
  edge ("try again later") and count as failed for users (blocking traffic, letting it back in stages).
- `retry_budget`: a config push: clients retry only within a budget (retry_policy "budget").
- `breakers`: circuit breakers on (off again at end).
- `add_capacity node= factor=`: the node serves × factor, once the new servers have booted (its boot_min).
- `failover node=`: the node's secondary-site copy takes traffic, up to the failover headroom, after
  the switch-over (sim.simulation.FAILOVER_MIN).
- `warm_caches`: the caches are pre-loaded (from a snapshot) at that moment; no end.

Text form (CLI, links): `KIND key=value …`, e.g. `capacity_loss node=user_db fraction=0.8 start_min=20`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Iterable

MAX_MIN = 24 * 60.0
MAX_SCALE = 20.0            # add_capacity: at most × 20 (more is not a fast scale-out)


class InterventionError(ValueError):
    """An intervention cannot be used; the message names what is wrong and what is allowed."""


@dataclass(frozen=True)
class Kind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    what: str


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("power", ("start_min",), ("end_min",), "the utility feed is off from start to end"),
    Kind("capacity_loss", ("node", "fraction", "start_min"), ("end_min",),
         "a node loses a fraction (0-1) of its capacity"),
    Kind("node_stop", ("node", "start_min"), ("end_min",), "a node's servers crash, and boot again at end"),
    Kind("latency", ("call", "added_ms", "start_min"), ("end_min",),
         "added milliseconds on one call (caller>callee)"),
    Kind("hall_power", ("hall", "start_min"), ("end_min",),
         "one hall loses power (its PDU fails); its servers boot again at end"),
    Kind("load_surge", ("factor", "start_min"), ("end_min", "feature"), "demand x factor, one feature or all"),
    Kind("shed_load", ("start_min",), ("end_min",), "operators turn load shedding on (off at end)"),
    Kind("admit", ("fraction", "start_min"), ("end_min",), "only a fraction (0-1) of users' requests is let in"),
    Kind("retry_budget", ("start_min",), ("end_min",), "clients retry only within a budget"),
    Kind("breakers", ("start_min",), ("end_min",), "circuit breakers on (off at end)"),
    Kind("add_capacity", ("node", "factor", "start_min"), ("end_min",),
         "a node's capacity x factor (1-20) once its new servers have booted"),
    Kind("failover", ("node", "start_min"), ("end_min",),
         "a node's secondary-site copy takes traffic up to the failover headroom"),
    Kind("warm_caches", ("start_min",), (), "the caches are pre-loaded at that moment"),
)}
# Keys in the order they are written.
KEY_ORDER = ("node", "hall", "call", "feature", "fraction", "added_ms", "factor", "start_min", "end_min")
_NUMBERS = {"start_min": (0.0, MAX_MIN), "end_min": (0.0, MAX_MIN), "fraction": (0.0, 1.0),
            "added_ms": (0.0, 600_000.0), "factor": (0.01, 100.0)}
_NAMES = ("node", "hall", "call", "feature")
_NEVER = {"never", "none", ""}


@dataclass(frozen=True)
class Intervention:
    """One timed change. Times are simulated minutes from the start of the run; `end_min` None = for good."""

    kind: str
    start_min: float
    end_min: float | None = None
    node: str | None = None
    call: str | None = None          # "caller>callee"
    hall: str | None = None          # a [[hall]]'s id (hall_power)
    feature: str | None = None
    fraction: float | None = None
    added_ms: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        check(self)

    def __repr__(self) -> str:
        return f"Intervention({self.text()!r})"

    @property
    def start_s(self) -> float:
        return self.start_min * 60.0

    @property
    def end_s(self) -> float:
        return math.inf if self.end_min is None else self.end_min * 60.0

    def active(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s

    def params(self) -> dict[str, Any]:
        """The keys this kind uses that are set, in writing order."""
        spec = KINDS[self.kind]
        used = set(spec.required) | set(spec.optional)
        return {k: getattr(self, k) for k in KEY_ORDER if k in used and getattr(self, k) is not None}

    def text(self) -> str:
        """The CLI/link form: `KIND key=value …` (parse() reads it back)."""
        return " ".join([self.kind] + [f"{k}={_fmt(v)}" for k, v in self.params().items()])

    def shifted(self, minutes: float) -> "Intervention":
        """The same change `minutes` earlier (negative: later), clamped at minute 0."""
        end = None if self.end_min is None else max(0.0, self.end_min - minutes)
        start = max(0.0, self.start_min - minutes)
        if end is not None and end <= start:
            end = start + 1e-6
        return replace(self, start_min=round(start, 6), end_min=None if end is None else round(end, 6))


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def check(a: Intervention) -> None:
    """Types, ranges and keys of one intervention (the architecture is checked when a run starts)."""
    spec = KINDS.get(a.kind)
    if spec is None:
        raise InterventionError(f"unknown action kind {a.kind!r}; kinds: {', '.join(KINDS)}")
    allowed = set(spec.required) | set(spec.optional)
    for f in fields(a):
        if f.name == "kind":
            continue
        value = getattr(a, f.name)
        if f.name not in allowed:
            if value is not None:
                raise InterventionError(f"{a.kind}: unknown key {f.name!r}; keys: {', '.join(_keys(spec))}")
            continue
        if value is None:
            if f.name in spec.required:
                raise InterventionError(f"{a.kind}: {f.name}=… is missing; keys: {', '.join(_keys(spec))}")
            continue
        if f.name in _NAMES:
            if not isinstance(value, str) or not value:
                raise InterventionError(f"{a.kind}: {f.name} must be a name")
            if f.name == "call" and value.count(">") != 1:
                raise InterventionError(f"{a.kind}: call={value!r} must be written CALLER>CALLEE")
            continue
        low, high = _NUMBERS[f.name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InterventionError(f"{a.kind}: {f.name}={value!r} must be a number from {low:g} to {high:g}")
        if not low <= value <= high:
            raise InterventionError(f"{a.kind}: {f.name}={value:g} is out of range; allowed: {low:g} to {high:g}")
    if a.kind == "add_capacity" and a.factor is not None and not 1.0 <= a.factor <= MAX_SCALE:
        raise InterventionError(f"add_capacity: factor={a.factor:g} is out of range; allowed: 1 to {MAX_SCALE:g}")
    if a.end_min is not None and a.end_min <= a.start_min:
        raise InterventionError(f"{a.kind}: end_min={a.end_min:g} must be after start_min={a.start_min:g}")


def _keys(spec: Kind) -> list[str]:
    return [k for k in KEY_ORDER if k in spec.required] + [f"[{k}]" for k in KEY_ORDER if k in spec.optional]


def marker(a: Intervention, starts: bool, label: Callable[[str], str] = str) -> str:
    """An action's start (or end) in a few words, as the charts, captions and event log mark it;
    `label` turns node ids into the architecture's labels."""
    if a.kind == "shed_load":
        return "Operators shed load" if starts else "Operators stop shedding load"
    if a.kind == "capacity_loss":
        return (f"{label(a.node or '')} loses {float(a.fraction or 0):.0%} of its capacity" if starts
                else f"{label(a.node or '')} has its capacity back")
    if a.kind == "node_stop":
        return f"{label(a.node or '')} stops (crash)" if starts else f"{label(a.node or '')} restarts"
    if a.kind == "hall_power":
        return (f"{label(a.hall or '')} loses power (its PDU fails)" if starts
                else f"Power back in {label(a.hall or '')}")
    if a.kind == "latency":
        caller, _, callee = (a.call or "").partition(">")
        return (f"+{float(a.added_ms or 0):g} ms on {label(caller)} → {label(callee)}" if starts
                else f"{label(caller)} → {label(callee)} back to normal speed")
    if a.kind == "load_surge":
        who = f"for {label(a.feature)}" if a.feature else "for every feature"
        return f"Demand ×{float(a.factor or 1):g} {who}" if starts else f"Demand back to normal {who}"
    if a.kind == "admit":
        share = float(a.fraction if a.fraction is not None else 1.0)
        if not starts:
            return "Operators let all traffic back in"
        return "Operators block all traffic" if share <= 0 else f"Operators let {share:.0%} of traffic in"
    if a.kind == "retry_budget":
        return "Operators push a retry budget to clients" if starts else "Retry budget removed"
    if a.kind == "breakers":
        return "Operators turn circuit breakers on" if starts else "Operators turn circuit breakers off"
    if a.kind == "add_capacity":
        return (f"{label(a.node or '')} runs ×{float(a.factor or 1):g} capacity" if starts
                else f"{label(a.node or '')} back to its normal capacity")
    if a.kind == "failover":
        return (f"{label(a.node or '')}: the secondary site takes traffic" if starts
                else f"{label(a.node or '')} fails back to the primary site")
    if a.kind == "warm_caches":
        return "Operators warm the caches"
    return "Utility power off" if starts else "Utility power back"


def ordered_marker(a: Intervention, label: Callable[[str], str] = str, ready_min: float = 0.0) -> str:
    """The moment an action with a delay is taken (its effect is marked by `marker` when it starts)."""
    if a.kind == "add_capacity":
        return (f"Operators add capacity to {label(a.node or '')} ×{float(a.factor or 1):g}"
                f" (ready in {ready_min:.0f} min)")
    if a.kind == "failover":
        return f"Operators fail {label(a.node or '')} over (switch-over {ready_min:.0f} min)"
    return marker(a, True, label)


def describe(a: Intervention, label: Callable[[str], str] = str) -> str:
    """An action in plain words with its times, e.g. "User database loses 80 % of its capacity,
    0:20 to 0:21" — for people (`label` turns node ids into the architecture's labels)."""
    def clock(m: float) -> str:
        return f"{int(m) // 60}:{int(m) % 60:02d}" + (f":{round((m % 1) * 60):02d}" if m % 1 else "")

    when = f"{clock(a.start_min)} to {clock(a.end_min)}" if a.end_min is not None else f"from {clock(a.start_min)}"
    return f"{marker(a, True, label)}, {when}"


def target_problem(a: Intervention, graph: Any) -> str | None:
    """What is wrong with an action's target on this architecture (a networkx graph), or None."""
    nodes = graph.nodes
    if a.kind in ("capacity_loss", "node_stop", "add_capacity"):
        kinds = SERVER_KINDS if a.kind == "node_stop" else SERVING_KINDS
        ok = [n for n, d in nodes(data=True) if d["kind"] in kinds]
        if a.node not in ok:
            what = "runs servers" if a.kind == "node_stop" else "serves requests"
            return f"{a.kind}: node={a.node!r} is not a node that {what}; nodes: {listed(ok)}"
    elif a.kind == "failover":
        ok = failover_nodes(graph)
        if a.node not in ok:
            return (f"failover: node={a.node!r} has no secondary site to fail over to, or fails over by itself;"
                    f" nodes: {listed(ok) or 'none'}")
    elif a.kind == "latency":
        caller, _, callee = (a.call or "").partition(">")
        calls = [f"{u}>{v}" for u, v, k in graph.edges(data="kind") if k in ("call", "fallback")]
        if f"{caller}>{callee}" not in calls:
            return f"latency: call={a.call!r} is not a call of this architecture; calls: {listed(calls)}"
    elif a.kind == "hall_power":
        halls = list(graph.graph.get("halls", {}))
        if a.hall not in halls:
            return f"hall_power: hall={a.hall!r} is not a [[hall]] of this architecture; halls: {listed(halls)}"
    elif a.kind == "load_surge" and a.feature is not None:
        features = [n for n, d in nodes(data=True) if d["kind"] == "feature"]
        if a.feature not in features:
            return f"load_surge: feature={a.feature!r} is not a feature; features: {listed(features)}"
    return None


SERVING_KINDS = ("datastore", "cache", "queue", "service", "edge")


def failover_nodes(graph: Any) -> list[str]:
    """Nodes operators can fail over: serving nodes outside the primary site and the edge (services
    run in regions), whose traffic can go to another site's spare capacity, up to the failover
    headroom [assumption]. Primary-site backends with a warm secondary copy already use it by
    themselves; those marked `secondary = false` have none."""
    return [n for n, d in graph.nodes(data=True)
            if d["kind"] in SERVING_KINDS and d["kind"] != "edge" and d.get("site", "primary") not in ("primary", "edge")]


SERVER_KINDS = ("infrastructure",) + SERVING_KINDS


def listed(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … ({len(names)} in all)" if len(names) > limit else "")


def parse(text: str) -> Intervention:
    """`KIND key=value …` → an Intervention (InterventionError names what is wrong)."""
    words = text.split()
    if not words:
        raise InterventionError(f"empty action; write KIND key=value …, kinds: {', '.join(KINDS)}")
    kind, pairs = words[0], words[1:]
    if kind not in KINDS:
        raise InterventionError(f"unknown action kind {kind!r}; kinds: {', '.join(KINDS)}")
    values: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise InterventionError(f"{kind}: {pair!r} must be written key=value")
        values[key] = value
    return from_mapping(kind, values)


def from_mapping(kind: str, values: dict[str, Any]) -> Intervention:
    """An intervention from a kind and its keys as text or TOML values (a scenario file's [[action]])."""
    spec = KINDS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise InterventionError(f"unknown action kind {kind!r}; kinds: {', '.join(KINDS)}")
    allowed = set(spec.required) | set(spec.optional)
    out: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in allowed:
            raise InterventionError(f"{kind}: unknown key {key!r}; keys: {', '.join(_keys(spec))}")
        if key in _NAMES:
            if not isinstance(raw, str):
                raise InterventionError(f"{kind}: {key} must be a name, not {raw!r}")
            out[key] = raw.strip()
            continue
        if key == "end_min" and isinstance(raw, str) and raw.strip().lower() in _NEVER:
            out[key] = None
            continue
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise InterventionError(f"{kind}: {key}={raw!r} must be a number")
        try:
            number = float(raw)
        except ValueError:
            low, high = _NUMBERS[key]
            raise InterventionError(f"{kind}: {key}={raw!r} is not a number; use {low:g} to {high:g}") from None
        out[key] = number
    return Intervention(kind=kind, **out)


def parse_list(text: str) -> tuple[Intervention, ...]:
    """A link's `actions` value: actions separated by ';' (empty = none)."""
    return tuple(parse(part) for part in text.split(";") if part.strip())


def format_list(actions: Iterable[Intervention]) -> str:
    return ";".join(a.text() for a in actions)


def ordered(actions: Iterable[Intervention]) -> tuple[Intervention, ...]:
    """The canonical order of a scenario's list: by start, then kind (stable otherwise)."""
    return tuple(sorted(actions, key=lambda a: (a.start_min, a.kind)))


def boundaries(actions: Iterable[Intervention], delay: Callable[[Intervention], float] | None = None
               ) -> list[tuple[float, int, Intervention, bool]]:
    """Every start and end, in time order: (t_s, order, action, starts). Ends before starts at one
    instant (a restore and a new cut at the same minute leave the feed off). `delay` (seconds from
    taking an action to its effect) moves starts later; an action that ends before it starts is left out."""
    out: list[tuple[float, int, Intervention, bool]] = []
    for a in actions:
        start = a.start_s + (delay(a) if delay else 0.0)
        if start >= a.end_s:
            continue
        out.append((start, 1, a, True))
        if a.end_min is not None:
            out.append((a.end_s, 0, a, False))
    out.sort(key=lambda b: (b[0], b[1]))
    return out


def parted_at(a: Iterable[Intervention], b: Iterable[Intervention]) -> float:
    """Simulated seconds at which two lists first make a different change (inf if never): a run
    of either is the same as the other's before that moment."""
    ka = [(t, o, _change(x), starts) for t, o, x, starts in boundaries(a)]
    kb = [(t, o, _change(x), starts) for t, o, x, starts in boundaries(b)]
    ka.sort()
    kb.sort()
    for x, y in zip(ka, kb):
        if x != y:
            return min(x[0], y[0])
    if len(ka) != len(kb):
        return (ka if len(ka) > len(kb) else kb)[min(len(ka), len(kb))][0]
    return math.inf


def _change(a: Intervention) -> str:
    """What an action's start or end changes: the action but its end (which only says when it stops)."""
    return replace(a, end_min=None).text()


def power_flips(actions: Iterable[Intervention]) -> list[tuple[float, bool]]:
    """When the utility feed changes, in seconds: [(t_s, power_on)] — overlapping cuts count as one."""
    off = 0
    out: list[tuple[float, bool]] = []
    for t, _, a, starts in boundaries(x for x in actions if x.kind == "power"):
        before = off
        off += 1 if starts else -1
        if before == 0 and off > 0:
            out.append((t, False))
        elif before > 0 and off == 0:
            out.append((t, True))
    merged: list[tuple[float, bool]] = []
    for t, on in out:                      # a restore and a cut at one instant: the feed stays off
        if merged and merged[-1][0] == t and merged[-1][1] != on:
            merged.pop()
            continue
        merged.append((t, on))
    return merged


def from_flips(flips: Iterable[tuple[float, bool]]) -> tuple[Intervention, ...]:
    """Power interventions for a sequence of utility flips (minutes, power_on), as the switch makes them."""
    out: list[Intervention] = []
    off_since: float | None = None
    for m, on in sorted(flips, key=lambda f: f[0]):
        if not on and off_since is None:
            off_since = m
        elif on and off_since is not None:
            if m > off_since:
                out.append(Intervention("power", start_min=off_since, end_min=m))
            off_since = None
    if off_since is not None:
        out.append(Intervention("power", start_min=off_since))
    return tuple(out)


__all__ = ["Intervention", "InterventionError", "KINDS", "target_problem", "failover_nodes", "ordered_marker", "listed", "describe", "marker", "parse", "parse_list", "format_list", "from_mapping",
           "boundaries", "parted_at", "power_flips", "from_flips", "ordered"]
