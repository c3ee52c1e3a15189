"""Streamlit glue shared by the what-if pages: scenario controls, link syncing, notices, sharing.

Kept out of the page files so each page stays a short read (widgets → sim → viz → layout), and out
of viz/ because this module imports Streamlit.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Iterable

import streamlit as st

import sim
from sim.links import from_params, to_params
from sim.scenario import RANGES, field_kind, format_value, parse_value
from viz.whatif import Control, escape_md, link

EXPORT_DIR = Path(__file__).resolve().parent.parent / "assets" / "export"

# Number inputs: (step, printf format) per setting; others use whole steps.
_STEP: dict[str, tuple[float, str]] = {
    "load": (0.05, "%.2f"), "failover_headroom": (0.05, "%.2f"), "timeout_s": (0.1, "%.1f"),
    "ups_minutes": (0.5, "%.1f"), "generator_delay_min": (0.5, "%.1f"), "chiller_restart_min": (0.5, "%.1f"),
    "cache_warmup_min": (0.5, "%.1f"), "power_cut_min": (1.0, "%.1f"), "power_restored_min": (1.0, "%.1f"),
    "shed_load_min": (1.0, "%.1f"), "duration_min": (10.0, "%.0f"), "step_s": (1.0, "%.0f"),
}
_CHOICE_WORDS = {
    "generator": {"ok": "ok — start in 10 s", "fails": "fails — never start", "delayed": "delayed"},
    "retry_policy": {"none": "none — give up", "immediate": "immediate", "backoff": "backoff with jitter",
                     "budget": "retry budget (10 %)"},
    "counter_fallback": {"zero": "show 0", "hide": "hide the number", "last_known": "last known value"},
}


def widget_value(name: str, value: Any) -> Any:
    """A Scenario value as its widget holds it."""
    kind = field_kind(name)
    if kind == "actions":
        return "\n".join(a.text() for a in value)
    if kind == "switches":
        return format_value(value) if value else ""
    if kind == "int":
        return int(value)
    if kind in ("float", "optional_float"):
        return None if value is None else float(value)
    return value


def seed_widgets(prefix: str, s: sim.Scenario, names: Iterable[str]) -> None:
    """Put a scenario's values into the widgets' session state (before the widgets are drawn)."""
    for name in names:
        st.session_state[prefix + name] = widget_value(name, getattr(s, name))


KEPT_SUFFIX = ".kept"  # the copies kept_widgets holds are under key + KEPT_SUFFIX


def kept_widgets(keys: Iterable[str]) -> None:
    """Widget values that outlive a visit to another page. Streamlit drops a widget's state on any
    run that does not draw it, so a page reading one of its keys before drawing it (or drawing it
    without a default) loses what the visitor chose. A copy under `key + KEPT_SUFFIX`, not a widget key,
    is never dropped: call this before the widgets are read (it gives dropped values back) and after
    they are drawn (it records what they hold)."""
    for key in keys:
        if key not in st.session_state and key + KEPT_SUFFIX in st.session_state:
            st.session_state[key] = st.session_state[key + KEPT_SUFFIX]
        if key in st.session_state:
            st.session_state[key + KEPT_SUFFIX] = st.session_state[key]


def ensure_widgets(prefix: str, s: sim.Scenario, names: Iterable[str]) -> None:
    """Seed only the widgets Streamlit forgot (it drops widget state when another page was shown)."""
    for name in names:
        if prefix + name not in st.session_state:
            st.session_state[prefix + name] = widget_value(name, getattr(s, name))


def control(c: Control, prefix: str, on_change: Callable[[], None] | None = None, show_help: bool = True) -> None:
    """One widget for one setting, with its one-line help shown under it."""
    key = prefix + c.name
    kind = field_kind(c.name)
    if kind == "choice":
        words = _CHOICE_WORDS.get(c.name, {})
        st.selectbox(c.label, sim.scenario.CHOICES[c.name], key=key, on_change=on_change,
                     format_func=lambda v, w=words: w.get(v, v))
    elif kind == "bool":
        st.toggle(c.label, key=key, on_change=on_change)
    elif kind == "switches":
        st.text_input(c.label, key=key, on_change=on_change, placeholder="e.g. 30:off, 40:on")
    elif kind == "actions":
        st.text_area(c.label, key=key, on_change=on_change, height=120,
                     placeholder="e.g. power start_min=15 end_min=75\nshed_load start_min=150")
    elif kind == "int":
        low, high = RANGES[c.name]
        st.number_input(c.label, min_value=int(low), max_value=int(high), step=1, key=key, on_change=on_change)
    else:
        low, high = RANGES[c.name]
        step, fmt = _STEP.get(c.name, (1.0, "%.1f"))
        st.number_input(c.label, min_value=float(low), max_value=float(high), step=step, format=fmt, key=key,
                        on_change=on_change, placeholder="never" if kind == "optional_float" else None)
    if show_help:
        st.markdown(c.help)


def read_widgets(prefix: str, base: sim.Scenario, names: Iterable[str]) -> tuple[sim.Scenario, str]:
    """(scenario, error): `base` with the widgets' values; on a bad value, `base` and a message."""
    changes: dict[str, Any] = {}
    try:
        for name in names:
            value = st.session_state.get(prefix + name)
            kind = field_kind(name)
            if kind == "switches":
                value = parse_value(name, value or "")
            elif kind == "actions":
                value = parse_value(name, ";".join(line for line in (value or "").splitlines() if line.strip()))
            elif kind == "int":
                value = int(value)
            elif kind == "float":
                value = float(value)
            changes[name] = value
        return base.replace(**changes), ""
    except (sim.ScenarioError, TypeError, ValueError) as exc:
        return base, f"That setting cannot be used: {exc}"


def new_seed(key: str) -> None:
    """Callback: a fresh random seed (only the seed is random; the run stays deterministic)."""
    st.session_state[key] = random.SystemRandom().randrange(0, 100_000)


def _params_now() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params.keys()}


def incoming_link(state_key: str) -> dict[str, str] | None:
    """The URL's parameters if they are new to this session (a link was opened), else None."""
    params = _params_now()
    if params and params != st.session_state.get(state_key):
        return params
    return None


def write_link(state_key: str, params: dict[str, str]) -> None:
    """Put the page's whole configuration into the URL (and remember it as ours)."""
    if _params_now() != params:
        st.query_params.from_dict(params)
    st.session_state[state_key] = dict(params)


def show_notices(slot, notices: list[str], error: str = "", fault: str = "") -> None:
    """Fill an always-present slot: what a link changed, or why a setting was refused. `fault` (a
    message from ui.guard, already safe Markdown) says a run failed; it comes first, as an error."""
    lines = [fault] if fault else []
    if notices:
        lines.append("**This link had settings that cannot be used, so the nearest valid ones are shown:**")
        lines += [f"- {escape_md(n)}" for n in notices]
    if error:
        lines.append(escape_md(error))
    if fault:
        slot.error("\n\n".join([lines[0], "\n".join(lines[1:])]).strip(), icon="⚠️")
    elif lines:
        slot.warning("\n".join(lines), icon="⚠️")
    else:
        slot.empty()


def page_url(page_path: str, params: dict[str, str]) -> str:
    """An absolute link to a page with these parameters (best effort: the host as the browser sent it)."""
    try:
        base = str(st.context.url or "")
    except Exception:  # noqa: BLE001 - outside a browser session (tests) there is no URL
        base = ""
    base = base.split("?", 1)[0].rstrip("/")
    if not base:
        base = "http://localhost:8501"
    root = base.rsplit("/", 1)[0] if base.rsplit("/", 1)[-1] in ("lab", "compare", "experiment", "architecture") else base
    return link(f"{root}/{page_path}", params)


def share_bar(key: str, charts: list | None = None, prefix: str = "lights-out") -> None:
    """"Copy link" and SVG/PNG downloads of these chart specs, made in the browser (no vl-convert)."""
    bar = st.components.v2.component(
        "lights_out_export",
        html=(EXPORT_DIR / "export.html").read_text(encoding="utf-8"),
        css=(EXPORT_DIR / "export.css").read_text(encoding="utf-8"),
        js=(EXPORT_DIR / "export.js").read_text(encoding="utf-8"),
    )
    bar(key=key, data={"charts": charts or [], "prefix": prefix})


__all__ = ["share_bar", "widget_value", "seed_widgets", "ensure_widgets", "control", "read_widgets", "new_seed",
           "incoming_link", "write_link", "show_notices", "page_url", "from_params", "to_params"]
