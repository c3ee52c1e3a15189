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
- `load_surge factor= [feature=]`: demand × factor, for one feature or all.
- `shed_load`: operators turn load shedding on (off again at end).

Text form (CLI, links): `KIND key=value …`, e.g. `capacity_loss node=user_db fraction=0.8 start_min=20`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Iterable

MAX_MIN = 24 * 60.0


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
    Kind("load_surge", ("factor", "start_min"), ("end_min", "feature"), "demand x factor, one feature or all"),
    Kind("shed_load", ("start_min",), ("end_min",), "operators turn load shedding on (off at end)"),
)}
# Keys in the order they are written.
KEY_ORDER = ("node", "call", "feature", "fraction", "added_ms", "factor", "start_min", "end_min")
_NUMBERS = {"start_min": (0.0, MAX_MIN), "end_min": (0.0, MAX_MIN), "fraction": (0.0, 1.0),
            "added_ms": (0.0, 600_000.0), "factor": (0.01, 100.0)}
_NAMES = ("node", "call", "feature")
_NEVER = {"never", "none", ""}


@dataclass(frozen=True)
class Intervention:
    """One timed change. Times are simulated minutes from the start of the run; `end_min` None = for good."""

    kind: str
    start_min: float
    end_min: float | None = None
    node: str | None = None
    call: str | None = None          # "caller>callee"
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
    if a.kind == "latency":
        caller, _, callee = (a.call or "").partition(">")
        return (f"+{float(a.added_ms or 0):g} ms on {label(caller)} → {label(callee)}" if starts
                else f"{label(caller)} → {label(callee)} back to normal speed")
    if a.kind == "load_surge":
        who = f"for {label(a.feature)}" if a.feature else "for every feature"
        return f"Demand ×{float(a.factor or 1):g} {who}" if starts else f"Demand back to normal {who}"
    return "Utility power off" if starts else "Utility power back"


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
    if a.kind in ("capacity_loss", "node_stop"):
        kinds = SERVING_KINDS if a.kind == "capacity_loss" else SERVER_KINDS
        ok = [n for n, d in nodes(data=True) if d["kind"] in kinds]
        if a.node not in ok:
            what = "serves requests" if a.kind == "capacity_loss" else "runs servers"
            return f"{a.kind}: node={a.node!r} is not a node that {what}; nodes: {listed(ok)}"
    elif a.kind == "latency":
        caller, _, callee = (a.call or "").partition(">")
        calls = [f"{u}>{v}" for u, v, k in graph.edges(data="kind") if k in ("call", "fallback")]
        if f"{caller}>{callee}" not in calls:
            return f"latency: call={a.call!r} is not a call of this architecture; calls: {listed(calls)}"
    elif a.kind == "load_surge" and a.feature is not None:
        features = [n for n, d in nodes(data=True) if d["kind"] == "feature"]
        if a.feature not in features:
            return f"load_surge: feature={a.feature!r} is not a feature; features: {listed(features)}"
    return None


SERVING_KINDS = ("datastore", "cache", "queue", "service", "edge")
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


def boundaries(actions: Iterable[Intervention]) -> list[tuple[float, int, Intervention, bool]]:
    """Every start and end, in time order: (t_s, order, action, starts). Ends before starts at one
    instant (a restore and a new cut at the same minute leave the feed off)."""
    out: list[tuple[float, int, Intervention, bool]] = []
    for a in actions:
        out.append((a.start_s, 1, a, True))
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


__all__ = ["Intervention", "InterventionError", "KINDS", "target_problem", "listed", "describe", "marker", "parse", "parse_list", "format_list", "from_mapping",
           "boundaries", "parted_at", "power_flips", "from_flips", "ordered"]
