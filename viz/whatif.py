"""Pure helpers for the what-if pages (Lab, Compare, Experiment): control definitions, outcome
tables, the sweep chart, chart specs for export, and escaping. No Streamlit import.
"""

from __future__ import annotations

import copy
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import altair as alt
import pandas as pd

import sim
from sim.interventions import describe
from sim.outcomes import OUTCOME_FIELDS, ROWS, Outcome, format_value
from sim.sweep import KNOBS, SweepResult, threshold

from .charts import MAX_POINTS, OKABE_ITO, chart, chart_specs

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
EXPORT_WIDTH = 720

__all__ = ["page_chart", "Control", "controls", "groups", "escape_md", "outcome_frame", "sweep_frame", "sweep_chart",
           "export_specs", "link", "read_asset", "SWEEP_OUTCOMES"]


@dataclass(frozen=True)
class Control:
    name: str    # a Scenario field
    label: str
    help: str
    group: str


def controls(path: Path = ASSETS / "controls.md") -> list[Control]:
    """Every control, in display order, from assets/controls.md (`- name | label | help` lines)."""
    out: list[Control] = []
    group = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            group = line[3:].strip()
        elif line.startswith("- ") and group and line.count("|") >= 2:
            name, label, help_ = (p.strip() for p in line[2:].split("|", 2))
            out.append(Control(name, label, help_, group))
    return out


def groups(ctrls: list[Control]) -> dict[str, list[Control]]:
    out: dict[str, list[Control]] = {}
    for c in ctrls:
        out.setdefault(c.group, []).append(c)
    return out


def read_asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_md(text: Any) -> str:
    """Text from a link or a file, safe to show with st.markdown / st.warning (no links, no HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def link(base_url: str, params: dict[str, str]) -> str:
    """The page URL with these query parameters (base_url without a query string)."""
    base = base_url.split("?", 1)[0]
    return f"{base}?{urlencode(params)}" if params else base


# Streamlit draws a `width="container"` chart with autosize "fit": the milestone labels above the plot
# then squeeze the plot to a few pixels. "fit-x" keeps the chart's own height (bug reported to the lead).
_FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")


def page_chart(tl: sim.Timeline, chart_id: str, max_points: int = MAX_POINTS, numbered: bool = False) -> alt.LayerChart:
    """`viz.charts.chart` made safe for `st.altair_chart(..., width="stretch")`: at most `max_points`
    points a series (what a screen can show), however long the run; `numbered` milestones for
    narrow charts (the page lists `viz.charts.milestone_key`)."""
    return chart(tl, chart_id, max_points=max_points, numbered=numbered).properties(autosize=_FIT_X)


# ---- outcomes ---------------------------------------------------------------------------------
def outcome_frame(outcomes: dict[str, Outcome]) -> pd.DataFrame:
    """One row per outcome, one column per run, plus what it means."""
    return pd.DataFrame(sim.outcomes.table(outcomes))


def sweep_frame(result: SweepResult) -> pd.DataFrame:
    """Every run of a sweep: the knob's value, the seed, then every outcome (for CSV export)."""
    rows = []
    for p in result.points:
        row: dict[str, Any] = {result.knob: p.value, "seed": p.seed, "recovered": p.outcome.recovered}
        row.update({f: getattr(p.outcome, f) for f in OUTCOME_FIELDS if f != "feature_outage_min"})
        row.update({f"outage_min_{f}": m for f, m in p.outcome.feature_outage_min})   # a column a feature
        rows.append(row)
    return pd.DataFrame(rows)


# Outcomes a sweep can plot: field -> (axis title, unit word).
SWEEP_OUTCOMES: dict[str, tuple[str, str]] = {
    "recover_after_power_min": ("Time to recover after power is back at the servers (min)", "min"),
    "login_outage_min": ("Login outage (min)", "min"),
    "degraded_feed_user_min": ("Degraded feed (user-minutes)", "user-min"),
    "peak_retry_amplification": ("Peak retry amplification (×)", "×"),
    "max_counter_gap_views": ("Largest counter gap (views)", "views"),
}


def wrap_title(text: str, width: int = 28) -> list[str] | str:
    """An axis title in lines of at most `width` characters (Vega draws a list as lines), so a long
    title is not cut at the edge of a 300-px-high chart."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines if len(lines) > 1 else text


def _y(o: Outcome, field: str) -> tuple[float, bool]:
    """(value to plot, did the run recover). A run that never recovers is drawn at the end of its
    window for the recovery time (it is at least that long)."""
    v = getattr(o, field)
    if field == "recover_after_power_min" and v is None:
        back = o.power_back_s if o.power_back_s is not None else 0.0
        return round(max(0.0, (o.end_s - back) / 60.0), 2), False
    return float(v if v is not None else 0.0), o.recovered


def sweep_chart(result: SweepResult, field: str = "recover_after_power_min") -> alt.LayerChart:
    """Outcome against the swept value: every seed as a point (circle = recovered, triangle = did not
    recover by the end of the run), the median as a line, the spread over seeds as a band, and the
    tipping point (if any) as a labelled rule."""
    knob = KNOBS[result.knob].label if result.knob in KNOBS else result.knob
    y_title, _ = SWEEP_OUTCOMES.get(field, (field, ""))
    rows = []
    for p in result.points:
        y, ok = _y(p.outcome, field)
        rows.append({"x": p.value, "seed": p.seed, "y": y,
                     "status": "recovered" if ok else "did not recover by the end of the run"})
    df = pd.DataFrame(rows)
    stats = []
    for x, g in df.groupby("x", sort=True):
        ys = list(g["y"])
        stats.append({"x": x, "median": statistics.median(ys), "lo": min(ys), "hi": max(ys)})
    sf = pd.DataFrame(stats)
    integer = result.knob in KNOBS and KNOBS[result.knob].integer
    x_enc = alt.X("x:Q", title=knob, scale=alt.Scale(zero=False, nice=False),
                  axis=alt.Axis(tickMinStep=1, format="d") if integer else alt.Axis())
    band = alt.Chart(sf).mark_area(opacity=0.2, color=OKABE_ITO["blue"]).encode(
        x=x_enc, y=alt.Y("lo:Q", title=wrap_title(y_title)), y2="hi:Q")
    line = alt.Chart(sf).mark_line(color=OKABE_ITO["blue"], strokeWidth=2).encode(
        x=x_enc, y="median:Q", tooltip=[alt.Tooltip("x:Q", title=knob), alt.Tooltip("median:Q", title="median"),
                                        alt.Tooltip("lo:Q", title="lowest"), alt.Tooltip("hi:Q", title="highest")])
    domain = ["recovered", "did not recover by the end of the run"]
    points = alt.Chart(df).mark_point(size=70, filled=True, opacity=0.85).encode(
        x=x_enc, y="y:Q",
        color=alt.Color("status:N", scale=alt.Scale(domain=domain, range=[OKABE_ITO["blue"], OKABE_ITO["vermillion"]]),
                        legend=alt.Legend(title=None, orient="bottom", direction="vertical", labelLimit=400)),
        shape=alt.Shape("status:N", scale=alt.Scale(domain=domain, range=["circle", "triangle-up"]),
                        legend=alt.Legend(title=None, orient="bottom", direction="vertical", labelLimit=400)),
        tooltip=[alt.Tooltip("x:Q", title=knob), alt.Tooltip("seed:Q", title="seed"),
                 alt.Tooltip("y:Q", title=y_title), alt.Tooltip("status:N", title="run")],
    )
    layers: list[alt.Chart] = [band, line, points]
    tip = threshold(result)
    desc = f"{y_title} against {knob}, {len(result.seeds)} seeds per value."
    if tip:
        mid = (tip[0] + tip[1]) / 2
        tdf = pd.DataFrame([{"x": mid, "label": f"tipping point between {tip[0]:g} and {tip[1]:g}"}])
        layers.append(alt.Chart(tdf).mark_rule(color="#444444", strokeDash=[4, 3], strokeWidth=1.5).encode(x="x:Q"))
        layers.append(alt.Chart(tdf).mark_text(align="left", baseline="top", dx=4, dy=4, fontSize=12, color="#222222")
                      .encode(x="x:Q", y=alt.value(0), text="label:N"))
        desc += f" Most runs recover at {tip[0]:g} and most do not at {tip[1]:g}."
    return (alt.layer(*layers)
            .properties(width="container", height=300, autosize=_FIT_X, description=desc,
                        title=alt.Title(f"{y_title} vs {knob.lower()}", anchor="start"))
            .configure_axis(labelFontSize=12, titleFontSize=12)
            .configure_legend(labelFontSize=12))


# ---- export -----------------------------------------------------------------------------------
def export_specs(tl: sim.Timeline) -> list[dict[str, Any]]:
    """Every chart as a self-contained Vega-Lite spec with a fixed width, for SVG/PNG export."""
    out = []
    for c in chart_specs(tl):
        spec = copy.deepcopy(c["spec"])
        spec["width"] = EXPORT_WIDTH
        spec["background"] = "white"
        out.append({"id": c["id"], "title": c["title"], "spec": spec})
    return out


def scenario_lines(s: sim.Scenario, preset: str) -> list[str]:
    """The settings that differ from the preset, as `Label: value` lines in the controls' words
    (assets/controls.md), not code names (empty list = none). Scheduled changes are listed whole."""
    labels = {c.name: c.label for c in controls()}
    out = []
    for key, value in sim.to_settings(s, sim.PRESETS[preset].scenario).items():
        label = labels.get(key, key.replace("_", " "))
        if key == "actions":
            g = sim.default_architecture()
            name = lambda n: str(g.nodes[n].get("label", n)) if n in g else n  # noqa: E731
            label, value = "Scheduled changes", "; ".join(describe(a, name) for a in s.actions) or "none"
        out.append(f"{label}: {value}")
    return out


def outcome_text(o: Outcome) -> list[str]:
    return [f"**{label}**: {escape_md(format_value(o, f))}" for f, label, _ in ROWS]


def sections(name: str) -> dict[str, str]:
    """A Markdown asset cut at `<!-- section: NAME -->` markers: {NAME: text}."""
    out: dict[str, str] = {}
    current = "top"
    for line in read_asset(name).splitlines(keepends=True):
        m = re.match(r"\s*<!--\s*section:\s*([\w-]+)\s*-->\s*$", line)
        if m:
            current = m.group(1)
            continue
        out[current] = out.get(current, "") + line
    return {k: v.strip() for k, v in out.items()}
