"""Timeline → Altair charts: pure rendering functions (no Streamlit import).

Public functions
----------------
- ``chart_specs(timeline) -> list[dict]`` — every chart for the in-browser player, each as
  ``{"id", "title", "description", "spec"}`` where ``spec`` is a JSON-safe Vega-Lite dict
  (NaN → ``null``; ``json.dumps(spec, allow_nan=False)`` succeeds).
- ``chart(timeline, chart_id) -> alt.LayerChart`` — one chart, e.g. for ``st.altair_chart``.
- ``metrics_frame(timeline) -> pandas.DataFrame`` — the same numbers as a table
  (``t_s``, ``clock``, then every metric in ``sim.METRIC_NAMES`` order; hidden = NaN).
- ``CHART_IDS`` — the chart ids in display order.

Layout
------
Every chart uses ``width="container"``: it fills the width of the element it is embedded in
(designed for ~320–600 px; give the embedding element a CSS width). A front end that wants a
fixed width can override it: ``spec["width"] = 480``. Heights are fixed (``CHART_HEIGHT`` /
``SMALL_HEIGHT`` px, plot area only; milestone labels and the legend add to it).

Time cursor
-----------
Each spec has a top-level parameter ``cursor_t`` (simulated seconds, initially 0) and a vertical
rule drawn at that time. The player moves it without re-rendering::

    view.signal("cursor_t", t_seconds).run()

Milestones (power cut, UPS exhausted, power restored, recovered …) are drawn on every chart as
dashed vertical rules with a text label above the plot (labels staggered into rows when close),
at their exact times. Series are told apart by colour (Okabe–Ito) *and* stroke dash, with a legend.
Hidden counter values (NaN in the timeline) show as gaps in the line, never as 0.

Data is compact: values are rounded, flat stretches are reduced to their end points (lossless for
the drawn line) and anything still longer than ``MAX_POINTS`` is reduced by keeping each bucket's
first/last point and each series' minimum and maximum, plus every milestone step.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

import altair as alt
import pandas as pd

import sim

__all__ = ["CHART_IDS", "MAX_POINTS", "chart", "chart_defs", "chart_specs", "metrics_frame"]

MAX_POINTS = 500  # per series, in the player's specs
CHART_HEIGHT = 160
SMALL_HEIGHT = 110
CURSOR_PARAM = "cursor_t"

# Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
# Series 1, 2 … : colour and dash pattern (dash is the second channel, never colour alone).
SERIES_STYLE: tuple[tuple[str, list[int]], ...] = (
    (OKABE_ITO["blue"], [1, 0]),
    (OKABE_ITO["vermillion"], [6, 3]),
    (OKABE_ITO["green"], [2, 2]),
)
MILESTONE_COLOR = "#444444"
MILESTONE_DASH = [4, 3]
CURSOR_COLOR = OKABE_ITO["black"]
GAP_FILL = OKABE_ITO["orange"]

# Vega expression: seconds (in `v`) → "H:MM".
_CLOCK_EXPR = "floor({v}/3600) + ':' + (floor({v}/60) % 60 < 10 ? '0' : '') + floor({v}/60) % 60"


@dataclass(frozen=True)
class _Series:
    metric: str
    label: str


@dataclass(frozen=True)
class _ChartDef:
    id: str
    title: str
    what: str  # one sentence for the description
    series: tuple[_Series, ...]
    y_title: str
    scale: float  # multiply metric by this for display (100 for fractions → %)
    digits: int  # rounding after scaling
    y_format: str
    domain: tuple[float, float] | None = None
    height: int = CHART_HEIGHT
    unit_word: str = ""
    gap_area: bool = False  # shade between series 0 (true) and 1 (displayed)

    def fmt(self, v: float) -> str:
        if self.unit_word == "%":
            return f"{v:.0f}%"
        if self.unit_word == "$":
            return f"${v:,.2f}"
        if self.digits == 0:
            return f"{v:,.0f}{(' ' + self.unit_word) if self.unit_word else ''}"
        return f"{v:,.{self.digits}f}{(' ' + self.unit_word) if self.unit_word else ''}"


_DEFS: tuple[_ChartDef, ...] = (
    _ChartDef(
        "feed_quality", "Feed quality",
        "How personal the For You feed is and how often it repeats videos the viewer has already seen.",
        (_Series("feed_personalization", "Personalised feeds"), _Series("feed_repeat_rate", "Repeated videos")),
        "% of feeds / videos", 100.0, 1, "d", (0, 100), unit_word="%",
    ),
    _ChartDef(
        "views", "View counters: displayed vs true",
        "Views a sample creator really has (from the durable event log; never decreases) against what "
        "the app displays; the shaded gap is the display error, and a break in the displayed line means "
        "the counter is hidden.",
        (_Series("views_true", "True views (event log)"), _Series("views_displayed", "Displayed in app")),
        "views", 1.0, 0, "~s", unit_word="views", gap_area=True,
    ),
    _ChartDef(
        "login", "Login success",
        "Share of login attempts that succeed.",
        (_Series("login_success", "Logins succeeding"),),
        "% of attempts", 100.0, 1, "d", (0, 100), unit_word="%",
    ),
    _ChartDef(
        "upload", "Upload success",
        "Share of video uploads that succeed.",
        (_Series("upload_success", "Uploads succeeding"),),
        "% of uploads", 100.0, 1, "d", (0, 100), unit_word="%",
    ),
    _ChartDef(
        "load_time", "Feed load time",
        "Mean time to load the feed in seconds, failed loads included.",
        (_Series("feed_load_time_s", "Feed load time"),),
        "seconds", 1.0, 2, "~g", unit_word="s",
    ),
    _ChartDef(
        "earnings", "Earnings: displayed vs true",
        "What a sample creator has really earned against what the app displays; the shaded gap is the "
        "display error, and a break in the displayed line means the value is hidden.",
        (_Series("earnings_true", "True earnings"), _Series("earnings_displayed", "Displayed in app")),
        "USD", 1.0, 2, "$,.0f", unit_word="$", gap_area=True,
    ),
    _ChartDef(
        "retries", "Retry amplification",
        "Call attempts reaching the backends per call a healthy run would make (1 = normal; higher means "
        "retries are multiplying the load).",
        (_Series("retry_amplification", "Attempts per normal call"),),
        "× normal", 1.0, 2, "~g", height=SMALL_HEIGHT, unit_word="×",
    ),
    _ChartDef(
        "backlog", "Event backlog",
        "Events in the durable log not yet applied to counters and earnings (they are safe, just not "
        "counted yet).",
        (_Series("backlog_events", "Events waiting"),),
        "events", 1.0, 0, "~s", height=SMALL_HEIGHT, unit_word="events",
    ),
)
_BY_ID: dict[str, _ChartDef] = {d.id: d for d in _DEFS}
CHART_IDS: tuple[str, ...] = tuple(_BY_ID)
STORY_ROLES = ("login", "upload", "feed")   # with none of these, the charts are per feature


def chart_defs(tl: sim.Timeline) -> tuple[_ChartDef, ...]:
    """The charts of a run: the story's (an architecture with roles login, upload or feed), else one
    success chart per feature (success_<id>), then retries (and the backlog if a log is consumed)."""
    roles = sim.architecture.feature_roles(tl.graph)
    if any(r in roles for r in STORY_ROLES):
        return _DEFS
    out = []
    for f in (n for n, d in tl.graph.nodes(data=True) if d["kind"] == "feature"):
        label = tl.label(f)
        out.append(_feature_def(f, label))
    out.append(_BY_ID["retries"])
    if any(v for v in tl.metrics["backlog_events"]):
        out.append(_BY_ID["backlog"])
    return tuple(out)


def _feature_def(feature: str, label: str) -> _ChartDef:
    cid = f"success_{feature}"
    d = _BY_ID.get(cid)
    if d is None or d.title != f"{label}: success":
        d = _ChartDef(cid, f"{label}: success", f"Share of {label} requests that succeed.",
                      (_Series(cid, "Requests succeeding"),), "% of requests", 100.0, 1, "d", (0, 100),
                      unit_word="%")
        if len(_BY_ID) > 512:           # architectures come and go: keep the registry bounded
            for k in [k for k in _BY_ID if k not in CHART_IDS]:
                del _BY_ID[k]
        _BY_ID[cid] = d
    return d


# ---- data ------------------------------------------------------------------------------------
def _clean(v: Any, scale: float, digits: int) -> float | int | None:
    if v is None:
        return None
    f = float(v)
    if math.isnan(f) or math.isinf(f):
        return None
    r = round(f * scale, digits)
    return int(r) if digits == 0 or float(r).is_integer() else r


_SAME = object()


def _clean_column(values: Sequence[Any], scale: float, digits: int) -> list[float | int | None]:
    """`_clean` over a whole series (the same results, inlined). Runs of an unchanged value are
    cleaned once: most metrics sit flat for long stretches, and rounding every step was most of a
    flip's chart time."""
    out: list[float | int | None] = []
    append, isfinite = out.append, math.isfinite
    prev: Any = _SAME
    cleaned: float | int | None = None
    for v in values:
        if v is not prev and (prev is _SAME or v != prev):  # NaN != NaN: each NaN is cleaned (to None)
            prev = v
            f = None if v is None else float(v)
            if f is None or not isfinite(f):
                cleaned = None
            elif digits == 0:
                cleaned = int(round(f * scale))  # == int(round(f * scale, 0)): both round half to even
            else:
                r = round(f * scale, digits)
                cleaned = int(r) if r.is_integer() else r
        append(cleaned)
    return out


def _columns(tl: sim.Timeline, d: _ChartDef) -> list[list[float | int | None]]:
    """The chart's series, cleaned (scaled, rounded, NaN → None), one list per series."""
    return [_clean_column(tl.metrics[s.metric], d.scale, d.digits) for s in d.series]


def _milestone_indices(tl: sim.Timeline) -> set[int]:
    out: set[int] = set()
    n = len(tl.t_s)
    for m in tl.milestones:
        i = tl.index_at(m.t_s)
        out.add(i)
        if i + 1 < n:
            out.add(i + 1)
    return out


def _select(rows: Sequence[tuple], forced: set[int], max_points: int) -> list[int]:
    """Indices of rows to keep: lossless run reduction, then min/max buckets if still too many."""
    n = len(rows)
    if n <= 2:
        return list(range(n))
    keep = [
        i for i in range(n)
        if i == 0 or i == n - 1 or i in forced or rows[i] != rows[i - 1] or rows[i] != rows[i + 1]
    ]
    if len(keep) <= max_points:
        return keep
    width = len(rows[0])
    per_bucket = 2 + 2 * width
    n_buckets = max(1, (max_points - len(forced)) // (per_bucket + 1))
    size = math.ceil(len(keep) / n_buckets)
    chosen: set[int] = set(i for i in forced if 0 <= i < n)
    for b in range(0, len(keep), size):
        bucket = keep[b:b + size]
        chosen.add(bucket[0])
        chosen.add(bucket[-1])
        for j in range(width):
            valid = [i for i in bucket if rows[i][j] is not None]
            if valid:
                chosen.add(min(valid, key=lambda i: rows[i][j]))
                chosen.add(max(valid, key=lambda i: rows[i][j]))
            # keep one hidden (null) point per hidden stretch so the gap stays a gap
            for a, c in zip(bucket, bucket[1:]):
                if (rows[a][j] is None) != (rows[c][j] is None):
                    chosen.add(a)
                    chosen.add(c)
    out = sorted(chosen)
    if len(out) > max_points:  # last resort: even stride, keeping ends and milestones
        stride = math.ceil(len(out) / max_points)
        out = sorted(set(out[::stride]) | {0, n - 1} | (forced & set(range(n))))
    return out


def _chart_rows(tl: sim.Timeline, d: _ChartDef, max_points: int | None,
                cols: list[list[Any]] | None = None, forced: set[int] | None = None) -> list[dict[str, Any]]:
    rows = list(zip(*(cols if cols is not None else _columns(tl, d))))
    if max_points is None:
        idx = list(range(len(rows)))
    else:
        idx = _select(rows, forced if forced is not None else _milestone_indices(tl), max_points)
    keys = _keys(d)
    out = []
    for i in idx:
        rec: dict[str, Any] = {"t": _clean(tl.t_s[i], 1.0, 1)}
        rec.update(zip(keys, rows[i]))
        out.append(rec)
    return out


def _keys(d: _ChartDef) -> list[str]:
    return [chr(ord("a") + k) for k in range(len(d.series))]


# Label placement assumes the narrowest plot area the charts are designed for (a 320 px chart
# minus its y axis) and ~6.3 px per character at font size 11; labels never overlap at that width.
_MIN_PLOT_PX = 250.0
_CHAR_PX = 6.3
_MAX_LABEL_ROWS = 6


def milestone_key(tl: sim.Timeline) -> list[tuple[int, str, str]]:
    """(number, label, H:MM) of every milestone, in the order `numbered` charts number them."""
    return [(i, m.label, sim.clock(m.t_s)) for i, m in enumerate(sorted(tl.milestones, key=lambda m: m.t_s), start=1)]


def _milestone_rows(tl: sim.Timeline, numbered: bool = False) -> list[dict[str, Any]]:
    """Milestones at their exact times, each with a label row (y, above the plot) and alignment.

    A label sits to the right of its rule unless it would run past the right edge. Labels are
    packed into rows so that none overlap at the narrowest supported width. `numbered` labels each
    rule with its number in `milestone_key` instead of its words (for narrow side-by-side charts,
    where the words of close milestones crowd; the page lists the key).
    """
    t_end = _t_end(tl)
    placed: list[tuple[int, float, float, float]] = []  # (row, x, lo, hi) in plot-width fractions
    eps = 3 / _MIN_PLOT_PX
    out = []
    items = [(str(n), m) for n, m in enumerate(sorted(tl.milestones, key=lambda m: m.t_s), start=1)]
    if numbered:   # milestones of the same moment share one rule: "1–4"
        groups: list[list[tuple[str, Any]]] = []
        for n, m in items:
            if groups and groups[-1][0][1].t_s == m.t_s:
                groups[-1].append((n, m))
            else:
                groups.append([(n, m)])
        items = [(g[0][0] if len(g) == 1 else f"{g[0][0]}–{g[-1][0]}",
                  sim.Milestone(g[0][1].t_s, ", ".join(m.label for _, m in g))) for g in groups]
    for n, m in items:
        t = float(m.t_s)
        x = t / t_end
        text = n if numbered else m.label
        w = (len(text) * _CHAR_PX + 6) / _MIN_PLOT_PX
        right = x + w > 1.0
        lo, hi = (x - w, x) if right else (x, x + w)

        def overlaps(r: int) -> bool:
            return any(pr == r and not (hi < plo or lo > phi) for pr, _, plo, phi in placed)

        def crosses(r: int) -> bool:  # a rule would run through a label
            return any(
                (pr > r and lo - eps <= px <= hi + eps) or (pr < r and plo - eps <= x <= phi + eps)
                for pr, px, plo, phi in placed
            )

        n_rows = 1 + max((p[0] for p in placed), default=-1)
        free = [r for r in range(n_rows + 1) if not overlaps(r)]
        clean = [r for r in free if r < max(n_rows, free[0] + 1) and not crosses(r)]
        row = min(clean[0] if clean else free[0], _MAX_LABEL_ROWS - 1)
        placed.append((row, x, lo, hi))
        out.append({
            "t": _clean(t, 1.0, 1),
            "label": text,
            "clock": sim.clock(t) + (f" — {m.label}" if numbered else ""),
            "y": -5 - 12 * row,
            "ytop": -16 - 12 * row,
            "align": "right" if right else "left",
        })
    return out


def _ticks(t_end: float) -> list[int]:
    for step in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600):
        if t_end / step <= 6:
            break
    return list(range(0, int(t_end) + 1, step))


# ---- description (screen readers) -------------------------------------------------------------
def _describe(tl: sim.Timeline, d: _ChartDef, cols: list[list[Any]] | None = None) -> str:
    t_end = float(tl.t_s[-1]) if tl.t_s else 0.0
    parts = [f"{d.title}, line chart over simulated time 0:00 to {sim.clock(t_end)}. {d.what}"]
    for s, vals in zip(d.series, cols if cols is not None else _columns(tl, d)):
        valid = [(v, t) for v, t in zip(vals, tl.t_s) if v is not None]
        if not valid:
            parts.append(f"{s.label}: hidden throughout.")
            continue
        lo = min(valid, key=lambda p: p[0])
        hi = max(valid, key=lambda p: p[0])
        text = (
            f"{s.label}: starts at {_fmt0(d, vals[0])}, lowest {d.fmt(lo[0])} at {sim.clock(lo[1])}, "
            f"highest {d.fmt(hi[0])} at {sim.clock(hi[1])}, ends at {_fmt0(d, vals[-1])}"
        )
        hidden = len(vals) - len(valid)
        if hidden:
            first = next(t for v, t in zip(vals, tl.t_s) if v is None)
            text += f"; hidden for {hidden * _step(tl) / 60:.0f} min from {sim.clock(first)}"
        parts.append(text + ".")
    if tl.milestones:
        ms = "; ".join(f"{m.label} at {sim.clock(m.t_s)}" for m in sorted(tl.milestones, key=lambda m: m.t_s))
        parts.append(f"Marked events: {ms}.")
    return " ".join(parts)


def _fmt0(d: _ChartDef, v: float | None) -> str:
    return "hidden" if v is None else d.fmt(v)


def _step(tl: sim.Timeline) -> float:
    return float(tl.t_s[1] - tl.t_s[0]) if len(tl.t_s) > 1 else float(tl.scenario.step_s)


# ---- charts ------------------------------------------------------------------------------------
def _datasets(tl: sim.Timeline, d: _ChartDef, max_points: int | None, cols: list[list[Any]] | None = None,
              shared: tuple[set[int], list[dict[str, Any]]] | None = None) -> dict[str, list[dict[str, Any]]]:
    forced, milestones = shared if shared is not None else (_milestone_indices(tl), _milestone_rows(tl))
    return {
        f"{d.id}_series": _chart_rows(tl, d, max_points, cols, forced),
        "milestones": [dict(m) for m in milestones],
        "cursor": [{}],
    }


def _build(chart_id: str, t_end: float) -> alt.LayerChart:
    d = _BY_ID[chart_id]
    return _built(chart_id, d.title, d.what, t_end)


@functools.lru_cache(maxsize=64)
def _built(chart_id: str, title: str, what: str, t_end: float) -> alt.LayerChart:
    """The chart without its data or description: layers refer to named datasets (see `_datasets`).

    It depends only on the chart and the run's length, so it is cached (building one costs ~80 ms
    of Altair object copying; inline values would be deep-copied at every chained call).
    Callers must not mutate the result — take ``.copy(deep=False)`` first.
    """
    d = _BY_ID[chart_id]
    ticks = _ticks(t_end)
    keys = _keys(d)
    labels = [s.label for s in d.series]
    colors = [SERIES_STYLE[k][0] for k in range(len(keys))]
    dashes = [SERIES_STYLE[k][1] for k in range(len(keys))]
    clock_t = _CLOCK_EXPR.format(v="datum.t")

    x = alt.X(
        "t:Q",
        title="simulated time (H:MM)",
        scale=alt.Scale(domain=[0, t_end], nice=False, zero=False, clamp=True),
        axis=alt.Axis(values=ticks, labelExpr=_CLOCK_EXPR.format(v="datum.value"), labelFlush=True),
    )
    y_scale = alt.Scale(domain=list(d.domain)) if d.domain else alt.Scale(zero=True)
    if d.y_format == "~s":  # per-label SI prefix ("200k", "1M"), not one prefix for the whole axis ("0.2M")
        y_axis = alt.Axis(labelExpr="format(datum.value, '~s')", tickCount=5)
    else:
        y_axis = alt.Axis(format=d.y_format, tickCount=5)
    base = alt.Chart(alt.NamedData(name=f"{d.id}_series"))

    label_expr = "datum.k"
    for k, lab in zip(reversed(keys), reversed(labels)):
        label_expr = f"datum.k == '{k}' ? '{_js(lab)}' : ({label_expr})"
    legend = alt.Legend(
        title=None, orient="bottom", direction="vertical" if len(keys) > 1 else "horizontal",
        symbolType="stroke", symbolStrokeWidth=2.5, symbolSize=400, labelLimit=220,
    )
    series_field = alt.Color("series:N", scale=alt.Scale(domain=labels, range=colors), legend=legend)
    lines = (
        base.transform_fold(keys, as_=["k", "v"])
        .transform_calculate(series=label_expr, clock=clock_t)
        .mark_line(strokeWidth=2.5, invalid="break-paths-filter-domains", interpolate="linear")
        .encode(
            x=x,
            y=alt.Y("v:Q", title=d.y_title, scale=y_scale, axis=y_axis),
            color=series_field,
            strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=labels, range=dashes), legend=legend),
            tooltip=[alt.Tooltip("clock:N", title="time"), alt.Tooltip("series:N", title="series"),
                     alt.Tooltip("v:Q", title=d.y_title, format=d.y_format if d.y_format != "d" else ".1f")],
        )
    )
    layers: list[alt.Chart] = []
    if d.gap_area and len(keys) >= 2:
        gap = (
            base.transform_filter(f"isValid(datum.{keys[1]}) && datum.{keys[1]} < datum.{keys[0]}")
            .mark_area(opacity=0.3, invalid="break-paths-filter-domains")
            .encode(
                x=x, y=alt.Y(f"{keys[1]}:Q"), y2=alt.Y2(f"{keys[0]}:Q"),
                fill=alt.Fill("gap:N", scale=alt.Scale(domain=["Display error"], range=[GAP_FILL]),
                              legend=alt.Legend(title=None, orient="bottom", direction="vertical", symbolOpacity=0.4,
                                                symbolType="square", symbolSize=150)),
            )
            .transform_calculate(gap="'Display error'")
        )
        layers.append(gap)
    layers.append(lines)

    ms = alt.Chart(alt.NamedData(name="milestones"))
    # The rule runs from its label (above the plot) to the bottom of the plot, so each label is
    # joined to its own rule even when labels are stacked.
    # Decorative for assistive tech (aria=False): every milestone is already named, with its time,
    # in the chart's description; an empty rule layer would otherwise be an unlabelled image.
    rules = ms.mark_rule(color=MILESTONE_COLOR, strokeDash=MILESTONE_DASH, strokeWidth=1.5, aria=False).encode(
        x=alt.X("t:Q"), y=alt.Y("ytop:Q", scale=None), y2=alt.value(d.height), tooltip=[alt.Tooltip("label:N", title="event"), alt.Tooltip("clock:N", title="time")]
    )
    # per-datum alignment: split into left- and right-aligned text layers
    texts_left = ms.transform_filter("datum.align == 'left'").mark_text(
        baseline="bottom", align="left", dx=3, fontSize=11, font="sans-serif", color="#222222", aria=False
    ).encode(x=alt.X("t:Q"), y=alt.Y("y:Q", scale=None), text="label:N")
    texts_right = ms.transform_filter("datum.align == 'right'").mark_text(
        baseline="bottom", align="right", dx=-3, fontSize=11, font="sans-serif", color="#222222", aria=False
    ).encode(x=alt.X("t:Q"), y=alt.Y("y:Q", scale=None), text="label:N")
    layers += [rules, texts_left, texts_right]

    cursor = alt.param(name=CURSOR_PARAM, value=0)
    cursor_rule = (
        alt.Chart(alt.NamedData(name="cursor"))
        .transform_calculate(t=CURSOR_PARAM, clock=clock_t)
        .mark_rule(color=CURSOR_COLOR, strokeWidth=2, aria=False)
        .encode(x=alt.X("t:Q"), tooltip=[alt.Tooltip("clock:N", title="now")])
    )
    layers.append(cursor_rule)

    return (
        alt.layer(*layers)
        .add_params(cursor)
        .properties(
            width="container",
            height=d.height,
            title=alt.Title(d.title, anchor="start", fontSize=15, offset=4),
        )
        .configure_axis(labelFontSize=12, titleFontSize=12, grid=True, gridOpacity=0.4)
        .configure_legend(labelFontSize=12)
        .configure_view(stroke="#bbbbbb")
    )


def _template_json(chart_id: str, t_end: float) -> str:
    d = _BY_ID[chart_id]
    return _template(chart_id, d.title, d.what, t_end)


@functools.lru_cache(maxsize=64)
def _template(chart_id: str, title: str, what: str, t_end: float) -> str:
    return json.dumps(_build(chart_id, t_end).to_dict(validate=False), allow_nan=False)


def _t_end(tl: sim.Timeline) -> float:
    return float(tl.t_s[-1]) if tl.t_s and tl.t_s[-1] > 0 else 1.0


def _js(s: str) -> str:
    return s.replace("\\", "\\\\").replace("'", "\\'")


def chart(timeline: sim.Timeline, chart_id: str, *, max_points: int | None = None,
          numbered: bool = False) -> alt.LayerChart:
    """One chart as an Altair layer chart (for ``st.altair_chart(..., width="stretch")``).

    ``chart_id`` is one of ``CHART_IDS``. By default every step is drawn (flat stretches reduced
    losslessly); pass ``max_points`` to cap the points per series as the player specs do.
    ``numbered`` labels the milestones' rules with numbers (see `milestone_key`).
    """
    chart_defs(timeline)       # registers a per-feature chart's id (success_<feature>) if there is one
    try:
        d = _BY_ID[chart_id]
    except KeyError:
        raise KeyError(f"unknown chart id {chart_id!r}; use one of: {', '.join(CHART_IDS)}") from None
    c = _build(d.id, _t_end(timeline)).copy(deep=False)
    c.description = _describe(timeline, d)
    shared = (_milestone_indices(timeline), _milestone_rows(timeline, numbered))
    c.datasets = _datasets(timeline, d, max_points if max_points is not None else len(timeline.t_s), shared=shared)
    return c


def chart_specs(timeline: sim.Timeline, *, max_points: int = MAX_POINTS) -> list[dict[str, Any]]:
    """Every chart for the in-browser player, in display order.

    Each item: ``{"id", "title", "description", "spec"}``; ``spec`` is a Vega-Lite dict that is
    JSON-safe (no NaN) and has a top-level ``cursor_t`` parameter (move it with
    ``view.signal("cursor_t", t_seconds).run()``). At most ``max_points`` points per series.
    """
    out = []
    shared = (_milestone_indices(timeline), _milestone_rows(timeline))  # the same for every chart
    for d in chart_defs(timeline):
        cols = _columns(timeline, d)  # cleaned once, for both the description and the data
        spec = json.loads(_template_json(d.id, _t_end(timeline)))
        spec["description"] = _describe(timeline, d, cols)
        spec["datasets"] = _datasets(timeline, d, max_points, cols, shared)
        out.append({
            "id": d.id,
            "title": d.title,
            "description": spec["description"],
            "spec": spec,
        })
    return out


def metrics_frame(timeline: sim.Timeline) -> pd.DataFrame:
    """Every metric per step as a table: ``t_s``, ``clock`` (H:MM), then ``sim.METRIC_NAMES``.

    Hidden displayed values stay NaN (shown blank in a table / CSV), never 0.
    """
    data: dict[str, Any] = {
        "t_s": [float(t) for t in timeline.t_s],
        "clock": [sim.clock(t) for t in timeline.t_s],
    }
    for name in sim.METRIC_NAMES:
        data[name] = [float("nan") if v is None else float(v) for v in timeline.metrics[name]]
    return pd.DataFrame(data)
