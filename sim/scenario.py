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

GENERATOR_MODES = ("ok", "fails", "delayed")
RETRY_POLICIES = ("none", "immediate", "backoff", "budget")
COUNTER_FALLBACKS = ("zero", "hide", "last_known")


class ScenarioError(ValueError):
    """A setting is unknown or out of range; the message names it and what is allowed."""


@dataclass(frozen=True)
class Scenario:
    """Every input of one run. Times are in simulated minutes from the start of the run."""

    seed: int = 1
    duration_min: float = 180.0
    step_s: float = 10.0
    # Power: the utility feed is cut and restored at these times (None = never).
    power_cut_min: float | None = 15.0
    power_restored_min: float | None = 75.0
    # Extra flips of the utility feed, e.g. from the explainer's switch: (minute, power_on).
    power_switch: tuple[tuple[float, bool], ...] = ()
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
    shed_load_min: float | None = 150.0
    failover_headroom: float = 0.3
    cache_warmup_min: float = 10.0
    # What users see.
    counter_fallback: str = "zero"
    feed_pool_size: int = 60
    # Traffic as a multiple of normal.
    load: float = 1.0

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> "Scenario":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    @property
    def steps(self) -> int:
        return int(round(self.duration_min * 60.0 / self.step_s))

    def utility_flips(self) -> list[tuple[float, bool]]:
        """Every change of the utility feed in time order, in seconds: [(t_s, power_on)]."""
        flips: list[tuple[float, bool]] = []
        if self.power_cut_min is not None:
            flips.append((self.power_cut_min * 60.0, False))
        if self.power_restored_min is not None:
            flips.append((self.power_restored_min * 60.0, True))
        flips.extend((m * 60.0, bool(on)) for m, on in self.power_switch)
        flips.sort(key=lambda f: f[0])
        return flips

    def with_power_flip(self, t_min: float, power_on: bool) -> "Scenario":
        """The explainer's switch: the utility feed changes at t_min and stays so.

        Scheduled flips after t_min are dropped — the person at the switch decides from here on.
        """
        kept = tuple((m, on) for m, on in self.power_switch if m < t_min)
        cut = self.power_cut_min if self.power_cut_min is not None and self.power_cut_min < t_min else None
        restored = (
            self.power_restored_min
            if self.power_restored_min is not None and self.power_restored_min < t_min
            else None
        )
        return self.replace(
            power_cut_min=cut,
            power_restored_min=restored,
            power_switch=kept + ((float(t_min), bool(power_on)),),
        )


# Allowed ranges: name -> (low, high). Checked for every numeric field.
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
        value = getattr(s, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ScenarioError(f"{name}={value!r} must be a number from {low:g} to {high:g}")
        if not low <= value <= high:
            raise ScenarioError(f"{name}={value:g} is out of range; allowed: {low:g} to {high:g}")
    for m, on in s.power_switch:
        if not 0 <= m <= 24 * 60 or not isinstance(on, bool):
            raise ScenarioError(f"power_switch entry ({m!r}, {on!r}) must be (minute 0..1440, true/false)")


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Scenario))
_DEFAULTS = Scenario()


def field_kind(name: str) -> str:
    """'bool', 'int', 'float', 'optional_float', 'choice' or 'switches' — how to parse a text value."""
    if name in CHOICES:
        return "choice"
    if name == "power_switch":
        return "switches"
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
    if name not in FIELDS:
        raise ScenarioError(f"unknown setting {name!r}; known settings: {', '.join(sorted(FIELDS))}")
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
    if kind == "switches":
        flips = []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            minute, _, state = part.partition(":")
            if state.lower() not in _TRUE | _FALSE:
                raise ScenarioError(f"power_switch={raw!r}: write flips as MINUTE:on or MINUTE:off, comma-separated")
            flips.append((_number(name, minute), state.lower() in _TRUE))
        return tuple(flips)
    if kind == "optional_float" and low in _NEVER:
        return None
    number = _number(name, raw)
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
    "RANGES",
    "CHOICES",
    "apply_settings",
    "parse_value",
    "format_value",
    "to_settings",
]
