"""The Scenario: one immutable object that holds every input of a run.

Everything the model needs — the seed, the power interventions, every policy — lives here, so a
run is a pure function of (architecture, Scenario) and a Scenario can be hashed, cached, shared
in a link and written back out for the CLI.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from . import interventions as iv
from .interventions import Intervention, InterventionError

GENERATOR_MODES = ("ok", "fails", "delayed")
RETRY_POLICIES = ("none", "immediate", "backoff", "budget")
COUNTER_FALLBACKS = ("zero", "hide", "last_known")
# The keys the schedule had before it became a list of interventions: still read from the CLI, links
# and scenario files (and readable as properties), written back as `actions`.
LEGACY = ("power_cut_min", "power_restored_min", "power_switch", "shed_load_min")


class ScenarioError(ValueError):
    """A setting is unknown or out of range; the message names it and what is allowed."""


@dataclass(frozen=True)
class Scenario:
    """Every input of one run. Times are in simulated minutes from the start of the run."""

    seed: int = 1
    duration_min: float = 180.0
    step_s: float = 10.0
    # Every timed change (power cuts, operator actions, faults), in start order (sim.interventions).
    # The default: the utility feed fails at 0:15 and returns at 1:15; no operator acts.
    actions: tuple[Intervention, ...] = (Intervention("power", start_min=15.0, end_min=75.0),)
    ups_minutes: float = 5.0
    generator: str = "fails"
    generator_delay_min: float = 8.0
    cooling_on_generator: bool = False
    chiller_restart_min: float = 5.0
    # Resilience.
    retry_policy: str = "immediate"
    max_retries: int = 3
    timeout_s: float = 2.0
    circuit_breaker: bool = False
    load_shedding: bool = False
    failover_headroom: float = 0.3
    cache_warmup_min: float = 10.0
    # What users see.
    counter_fallback: str = "zero"
    feed_pool_size: int = 60
    # Traffic as a multiple of normal.
    load: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.actions, tuple):
            object.__setattr__(self, "actions", tuple(self.actions) if isinstance(self.actions, list) else self.actions)
        validate(self)
        object.__setattr__(self, "actions", iv.ordered(self.actions))

    def replace(self, **changes: Any) -> "Scenario":
        """A copy with some fields changed (validated). The legacy schedule keys are accepted too."""
        legacy = {k: changes.pop(k) for k in LEGACY if k in changes}
        out = dataclasses.replace(self, **changes)
        return with_legacy(out, legacy) if legacy else out

    @property
    def steps(self) -> int:
        return int(round(self.duration_min * 60.0 / self.step_s))

    # ---- the schedule, read the old way ----------------------------------------------------------
    def power_actions(self) -> tuple[Intervention, ...]:
        return tuple(a for a in self.actions if a.kind == "power")

    @property
    def power_cut_min(self) -> float | None:
        """When the first scheduled cut starts (None = no cut)."""
        first = next(iter(self.power_actions()), None)
        return None if first is None else first.start_min

    @property
    def power_restored_min(self) -> float | None:
        """When the first scheduled cut ends (None = never, or no cut)."""
        first = next(iter(self.power_actions()), None)
        return None if first is None else first.end_min

    @property
    def power_switch(self) -> tuple[tuple[float, bool], ...]:
        """Flips after the first cut's, as (minute, power_on) — the old link key's value."""
        flips = self.utility_flips()
        return tuple((t / 60.0, on) for t, on in flips[2:])

    @property
    def shed_load_min(self) -> float | None:
        """When operators turn load shedding on (None = they do not)."""
        return next((a.start_min for a in self.actions if a.kind == "shed_load"), None)

    def utility_flips(self) -> list[tuple[float, bool]]:
        """Every change of the utility feed in time order, in seconds: [(t_s, power_on)]."""
        return iv.power_flips(self.actions)

    def with_power_flip(self, t_min: float, power_on: bool) -> "Scenario":
        """The explainer's switch: the utility feed changes at t_min and stays so.

        Scheduled power changes after t_min are dropped — the person at the switch decides from here on;
        other actions are kept.
        """
        t = float(t_min)
        kept: list[Intervention] = []
        for a in self.actions:
            if a.kind != "power":
                kept.append(a)
            elif a.start_min >= t:
                continue
            elif a.end_min is not None and a.end_min < t:
                kept.append(a)
            else:
                kept.append(dataclasses.replace(a, end_min=t if power_on else None))
        if not power_on and not any(a.kind == "power" and a.active(t * 60.0) for a in kept):
            kept.append(Intervention("power", start_min=t))
        return self.replace(actions=tuple(kept))

    def shifted(self, minutes: float) -> "Scenario":
        """Every action `minutes` earlier (clamped at 0); the rest unchanged."""
        return self.replace(actions=tuple(a.shifted(minutes) for a in self.actions))


_dataclass_init = Scenario.__init__


def _init(self: Scenario, *args: Any, **kwargs: Any) -> None:
    """The dataclass's __init__, also taking the legacy schedule keys (Scenario(power_cut_min=None))."""
    legacy = {k: kwargs.pop(k) for k in LEGACY if k in kwargs}
    _dataclass_init(self, *args, **kwargs)
    if legacy:
        object.__setattr__(self, "actions", with_legacy(self, legacy).actions)


Scenario.__init__ = _init  # type: ignore[method-assign]


def with_legacy(s: Scenario, legacy: dict[str, Any]) -> Scenario:
    """Apply the old schedule keys to a scenario's actions: power_cut_min / power_restored_min move
    the first cut (None: no cut / never restored), power_switch adds utility flips, shed_load_min
    sets when operators shed load (None: they do not)."""
    actions = list(s.actions)
    power = [a for a in actions if a.kind == "power"]
    first = power[0] if power else None
    try:
        if "power_cut_min" in legacy or "power_restored_min" in legacy:
            cut = legacy.get("power_cut_min", first.start_min if first else None)
            restored = legacy.get("power_restored_min", first.end_min if first else None)
            if first is not None:
                actions.remove(first)
            if cut is not None:
                end = restored if restored is not None and restored > cut else None
                actions.append(Intervention("power", start_min=float(cut), end_min=None if end is None else float(end)))
        if legacy.get("power_switch"):
            flips = [(t / 60.0, on) for t, on in iv.power_flips(actions)]
            flips += [(float(m), bool(on)) for m, on in legacy["power_switch"]]
            actions = [a for a in actions if a.kind != "power"] + list(iv.from_flips(flips))
        if "shed_load_min" in legacy:
            actions = [a for a in actions if not (a.kind == "shed_load" and a.end_min is None)]
            if legacy["shed_load_min"] is not None:
                actions.append(Intervention("shed_load", start_min=float(legacy["shed_load_min"])))
    except InterventionError as exc:
        raise ScenarioError(str(exc)) from None
    return dataclasses.replace(s, actions=tuple(actions))


# Allowed ranges: name -> (low, high). Checked for every numeric field (and the legacy keys as read).
RANGES: dict[str, tuple[float, float]] = {
    "seed": (0, 2**31 - 1),
    "duration_min": (1, 24 * 60),
    "step_s": (1, 10),
    "power_cut_min": (0, 24 * 60),
    "power_restored_min": (0, 24 * 60),
    "ups_minutes": (0, 120),
    "generator_delay_min": (0, 120),
    "chiller_restart_min": (0, 60),
    "max_retries": (0, 10),
    "timeout_s": (0.1, 30),
    "shed_load_min": (0, 24 * 60),
    "failover_headroom": (0, 2),
    "cache_warmup_min": (0.5, 240),
    "feed_pool_size": (5, 100000),
    "load": (0.1, 3),
}

CHOICES: dict[str, tuple[str, ...]] = {
    "generator": GENERATOR_MODES,
    "retry_policy": RETRY_POLICIES,
    "counter_fallback": COUNTER_FALLBACKS,
}


def validate(s: Scenario) -> None:
    for name, allowed in CHOICES.items():
        value = getattr(s, name)
        if value not in allowed:
            raise ScenarioError(f"{name}={value!r} is not allowed; use one of: {', '.join(allowed)}")
    for name, (low, high) in RANGES.items():
        if name in LEGACY:
            continue
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ScenarioError(f"{name}={value!r} must be a number from {low:g} to {high:g}")
        if not low <= value <= high:
            raise ScenarioError(f"{name}={value:g} is out of range; allowed: {low:g} to {high:g}")
    for name in ("seed", "max_retries", "feed_pool_size"):
        if int(getattr(s, name)) != getattr(s, name):
            raise ScenarioError(f"{name}={getattr(s, name)!r} must be a whole number")
    if not isinstance(s.actions, tuple) or not all(isinstance(a, Intervention) for a in s.actions):
        raise ScenarioError("actions must be a list of interventions (sim.interventions.Intervention)")


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Scenario))
# Every key a setting may be given by (--set, links, scenario files): the fields and the legacy keys.
SETTINGS: tuple[str, ...] = FIELDS + LEGACY
_DEFAULTS = Scenario()


def field_kind(name: str) -> str:
    """'bool', 'int', 'float', 'optional_float', 'choice', 'switches' or 'actions' — how to parse a text value."""
    if name in CHOICES:
        return "choice"
    if name == "power_switch":
        return "switches"
    if name == "actions":
        return "actions"
    if name in ("power_cut_min", "power_restored_min", "shed_load_min"):
        return "optional_float"
    value = getattr(_DEFAULTS, name)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "float"


_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}
_NEVER = {"never", "none", ""}


def parse_value(name: str, text: str) -> Any:
    """Parse one `KEY=VALUE` setting as typed on the command line or in a link."""
    if name not in SETTINGS:
        raise ScenarioError(f"unknown setting {name!r}; known settings: {', '.join(sorted(SETTINGS))}")
    kind = field_kind(name)
    raw = text.strip()
    low = raw.lower()
    if kind == "choice":
        if low not in CHOICES[name]:
            raise ScenarioError(f"{name}={raw!r} is not allowed; use one of: {', '.join(CHOICES[name])}")
        return low
    if kind == "bool":
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ScenarioError(f"{name}={raw!r} is not allowed; use on or off")
    if kind == "actions":
        try:
            return iv.parse_list(raw)
        except InterventionError as exc:
            raise ScenarioError(f"actions: {exc}") from None
    if kind == "switches":
        flips = []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            minute, _, state = part.partition(":")
            if state.lower() not in _TRUE | _FALSE:
                raise ScenarioError(f"power_switch={raw!r}: write flips as MINUTE:on or MINUTE:off, comma-separated")
            m = _number(name, minute)
            if not 0 <= m <= 24 * 60:
                raise ScenarioError(f"power_switch={raw!r}: minutes must be from 0 to 1440")
            flips.append((m, state.lower() in _TRUE))
        return tuple(flips)
    if kind == "optional_float" and low in _NEVER:
        return None
    number = _number(name, raw)
    if name in RANGES and name in LEGACY:
        lo, hi = RANGES[name]
        if not lo <= number <= hi:
            raise ScenarioError(f"{name}={number:g} is out of range; allowed: {lo:g} to {hi:g}")
    if kind == "int":
        if number != int(number):
            raise ScenarioError(f"{name}={raw!r} must be a whole number")
        return int(number)
    return number


def _number(name: str, raw: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        low, high = RANGES.get(name, (None, None))
        span = f" from {low:g} to {high:g}" if low is not None else ""
        never = " or never" if field_kind(name) == "optional_float" else ""
        raise ScenarioError(f"{name}={raw!r} is not a number; use a number{span}{never}") from None
    if not math.isfinite(number):
        raise ScenarioError(f"{name}={raw!r} must be a finite number")
    return number


def apply_settings(base: Scenario, settings: dict[str, str] | list[tuple[str, str]]) -> Scenario:
    """Apply text settings (from --set or a link) on top of a scenario; later ones win."""
    items = settings.items() if isinstance(settings, dict) else settings
    changes = {name: parse_value(name, value) for name, value in items}
    return base.replace(**changes)


def format_value(value: Any) -> str:
    """The inverse of parse_value: how a setting is written on the command line."""
    if value is None:
        return "never"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple) and all(isinstance(a, Intervention) for a in value):
        return iv.format_list(value)
    if isinstance(value, tuple):
        return ",".join(f"{m:g}:{'on' if on else 'off'}" for m, on in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def to_settings(s: Scenario, base: Scenario | None = None) -> dict[str, str]:
    """The settings that differ from `base` (all of them if base is None), as text."""
    out = {}
    for name in FIELDS:
        value = getattr(s, name)
        if base is None or getattr(base, name) != value:
            out[name] = format_value(value)
    return out


def defaults() -> Scenario:
    return _DEFAULTS


__all__ = [
    "Scenario",
    "ScenarioError",
    "FIELDS",
    "SETTINGS",
    "LEGACY",
    "RANGES",
    "CHOICES",
    "apply_settings",
    "parse_value",
    "format_value",
    "to_settings",
    "with_legacy",
]
