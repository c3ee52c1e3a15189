"""Scenarios ↔ link parameters, forgiving: a bad link opens the nearest valid settings with notices.

Links carry *every* setting as text (the CLI's `--set` spelling, see `sim.scenario.format_value`),
so a link restores a run exactly even if a preset's defaults change later. `from_params` never
raises: an unknown preset falls back to the default one, an out-of-range number is clamped to the
nearest allowed value, a whole-number setting is rounded, anything unreadable keeps the preset's
value — and each change is described in a one-line notice for the page to show.

Pure: no Streamlit. `prefix` lets one URL hold several scenarios (Compare: "a." and "b.").
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from .architecture import default_architecture
from .interventions import InterventionError, parse, target_problem
from .presets import DEFAULT_PRESET, PRESETS
from .scenario import CHOICES, RANGES, SETTINGS, Scenario, ScenarioError, field_kind, format_value, to_settings

MAX_SHOWN = 40  # characters of a bad value quoted back in a notice

_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}
_NEVER = {"never", "none", ""}


def to_params(preset: str, s: Scenario, prefix: str = "") -> dict[str, str]:
    """Every setting of `s` as link parameters, plus the preset it started from."""
    out = {f"{prefix}preset": preset}
    out.update({f"{prefix}{k}": v for k, v in to_settings(s).items()})
    return out


def _first(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return str(value)


def _shown(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def _clamp(name: str, number: float) -> tuple[float, str | None]:
    low, high = RANGES[name]
    if number < low:
        return low, f"below the minimum {low:g}"
    if number > high:
        return high, f"above the maximum {high:g}"
    return number, None


def lenient_value(name: str, text: str, fallback: Any) -> tuple[Any, str | None]:
    """(value, notice or None): the nearest valid value of one setting written as text."""
    raw = text.strip()
    low = raw.lower()
    kind = field_kind(name)
    shown = _shown(raw)
    if kind == "actions":
        return lenient_actions(raw)
    if kind == "choice":
        allowed = CHOICES[name]
        if low in allowed:
            return low, None
        near = [c for c in allowed if c.startswith(low) or low.startswith(c)] if low else []
        if len(near) == 1:
            return near[0], f"{name}={shown!r} is not a choice; using {near[0]!r}"
        return fallback, f"{name}={shown!r} is not one of {', '.join(allowed)}; kept {format_value(fallback)!r}"
    if kind == "bool":
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return fallback, f"{name}={shown!r} is not on/off; kept {format_value(fallback)!r}"
    if kind == "switches":
        flips: list[tuple[float, bool]] = []
        dropped: list[str] = []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            minute, _, state = part.partition(":")
            try:
                m = float(minute)
            except ValueError:
                m = math.nan
            if not math.isfinite(m) or state.strip().lower() not in _TRUE | _FALSE:
                dropped.append(part)
                continue
            flips.append((min(max(m, 0.0), 24 * 60.0), state.strip().lower() in _TRUE))
        if dropped:
            return tuple(flips), f"power_switch: dropped {_shown(', '.join(dropped))!r} (write MINUTE:on or MINUTE:off)"
        return tuple(flips), None
    if kind == "optional_float" and low in _NEVER:
        return None, None
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        return fallback, f"{name}={shown!r} is not a number; kept {format_value(fallback)}"
    notice = None
    number, why = _clamp(name, number)
    number = float(number)
    if kind == "int" and number != int(number):
        rounded = int(round(number))
        notice = f"{name}={shown} must be a whole number; using {rounded}"
        number = rounded
    elif kind == "int":
        number = int(number)
    if why:
        notice = f"{name}={shown} is {why}; using {format_value(number)}"
    return number, notice


def lenient_actions(text: str, graph: Any = None) -> tuple[tuple, str | None]:
    """The actions of a link's `actions=` value that can be used on the architecture (the default
    one if None); the others are dropped with one notice naming them and why."""
    g = graph if graph is not None else default_architecture()
    kept, dropped = [], []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            a = parse(part)
        except InterventionError as exc:
            dropped.append(f"{_shown(part)!r} ({exc})")
            continue
        problem = target_problem(a, g)
        if problem:
            dropped.append(f"{_shown(part)!r} ({_shown(problem)})")
            continue
        kept.append(a)
    return tuple(kept), ("actions: dropped " + "; ".join(dropped)) if dropped else None


def from_params(params: Mapping[str, Any], prefix: str = "", known_extra: Iterable[str] = (),
                default_preset: str = DEFAULT_PRESET) -> tuple[str, Scenario, list[str]]:
    """(preset, scenario, notices) from link parameters. Never raises.

    Keys that start with `prefix` are read; `known_extra` are other keys the page understands
    (not reported as unknown). Only keys without a prefix are checked for being unknown when
    `prefix` is empty.
    """
    notices: list[str] = []
    raw_preset = _first(params.get(f"{prefix}preset", default_preset)).strip()
    preset = raw_preset if raw_preset in PRESETS else None
    if preset is None:
        lowered = {k.lower(): k for k in PRESETS}
        preset = lowered.get(raw_preset.lower().replace("-", "_").replace(" ", "_"), default_preset)
        notices.append(f"preset {_shown(raw_preset)!r} is unknown; using {preset!r}")
    base = PRESETS[preset].scenario
    changes: dict[str, Any] = {}
    extra = set(known_extra)
    for key, value in params.items():
        if not key.startswith(prefix) or key in extra:
            continue
        name = key[len(prefix):]
        if name == "preset":
            continue
        if name not in SETTINGS:
            if prefix or not any(key.startswith(p) for p in ("a.", "b.")):
                notices.append(f"ignored unknown setting {_shown(key)!r}")
            continue
        v, notice = lenient_value(name, _first(value), getattr(base, name))
        if notice:
            notices.append(notice)
        changes[name] = v
    try:
        scenario = base.replace(**changes)
    except ScenarioError as exc:  # pragma: no cover - every value is already valid on its own
        notices.append(f"the settings do not fit together ({exc}); using the preset {preset!r}")
        scenario = base
    return preset, scenario, notices


__all__ = ["to_params", "from_params", "lenient_value", "lenient_actions"]


# ---- experiments (sweeps) ----------------------------------------------------------------------
SWEEP_KEYS = ("knob", "lo", "hi", "points", "seeds", "window", "y")
SWEEP_DEFAULTS: dict[str, Any] = {"knob": "max_retries", "lo": 0.0, "hi": 5.0, "points": 6, "seeds": 3,
                                  "window": 40.0, "y": "recover_after_power_min"}
SWEEP_LIMITS = {"points": (2, 20), "seeds": (1, 5), "window": (10.0, 24 * 60.0)}


def sweep_from_params(params: Mapping[str, Any], outcomes: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """The experiment's own settings from a link, clamped, with notices. Never raises."""
    from .sweep import KNOBS

    cfg = dict(SWEEP_DEFAULTS)
    notices: list[str] = []
    knob = _first(params.get("knob", cfg["knob"])).strip()
    if knob not in KNOBS:
        notices.append(f"knob={_shown(knob)!r} cannot be swept; using {cfg['knob']!r}")
        knob = cfg["knob"]
    cfg["knob"] = knob
    if "lo" not in params and "hi" not in params and knob != SWEEP_DEFAULTS["knob"]:
        cfg["lo"], cfg["hi"] = float(KNOBS[knob].lo), float(KNOBS[knob].hi)
    for key in ("lo", "hi"):
        if key in params:
            v, n = lenient_value(knob, _first(params[key]), cfg[key])
            if n:
                notices.append(n.replace(f"{knob}=", f"{key}=", 1))
            cfg[key] = float(v)
    if cfg["lo"] > cfg["hi"]:
        cfg["lo"], cfg["hi"] = cfg["hi"], cfg["lo"]
        notices.append("lo was above hi; swapped them")
    for key, (low, high) in SWEEP_LIMITS.items():
        if key not in params:
            continue
        text = _first(params[key]).strip()
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            notices.append(f"{key}={_shown(text)!r} is not a number; kept {cfg[key]:g}")
            continue
        clamped = min(max(v, low), high)
        if key != "window":
            clamped = int(round(clamped))
        if clamped != v:
            notices.append(f"{key}={_shown(text)} is outside {low:g} to {high:g} or not whole; using {clamped:g}")
        cfg[key] = clamped
    y = _first(params.get("y", cfg["y"])).strip()
    allowed = list(outcomes)
    if y not in allowed:
        notices.append(f"y={_shown(y)!r} is not an outcome; using {cfg['y']!r}")
        y = cfg["y"]
    cfg["y"] = y
    return cfg, notices


def sweep_to_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    return {k: format_value(float(cfg[k])) if k in ("lo", "hi", "window") else str(cfg[k]) for k in SWEEP_KEYS}


__all__ += ["sweep_from_params", "sweep_to_params", "SWEEP_KEYS", "SWEEP_DEFAULTS", "SWEEP_LIMITS"]


# ---- an architecture in a link --------------------------------------------------------------------
ARCH_PARAM = "arch"
ARCH_LINK_MAX_CHARS = 6000   # the parameter's length: URLs up to ~8,000 characters work everywhere


def architecture_to_param(text: str, limit: int = ARCH_LINK_MAX_CHARS) -> str | None:
    """An architecture's TOML, zlib-compressed and base64url-encoded for a link; None when the result
    would be longer than `limit` (then it cannot travel in a link: download it instead)."""
    import base64  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    packed = base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii").rstrip("=")
    return packed if len(packed) <= limit else None


def architecture_from_param(value: str) -> str:
    """The TOML text a link carries; ValueError (a plain sentence) if it is not one this app made.
    Decompression stops at the architecture size limit, so a crafted link cannot fill memory."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    from .files import ARCHITECTURE_MAX_BYTES  # noqa: PLC0415

    value = value.strip()
    if not value or len(value) > ARCH_LINK_MAX_CHARS:
        raise ValueError(f"the link's architecture is empty or longer than {ARCH_LINK_MAX_CHARS:,} characters")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        d = zlib.decompressobj()
        data = d.decompress(raw, ARCHITECTURE_MAX_BYTES + 1)
        if len(data) > ARCHITECTURE_MAX_BYTES or d.unconsumed_tail:
            raise ValueError(f"the link's architecture is larger than {ARCHITECTURE_MAX_BYTES // 1024} KB")
        if not d.eof:
            raise ValueError("the link's architecture is cut short (was the link copied whole?)")
        return data.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError):
        raise ValueError("the link's architecture cannot be read (was the link copied whole?)") from None
__all__ += ["architecture_to_param", "architecture_from_param", "ARCH_PARAM", "ARCH_LINK_MAX_CHARS"]
