"""viz.charts: Timeline → Vega-Lite specs for the player, Altair charts, and the metrics table."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import altair as alt
import pytest

import sim
from viz import charts

alt.data_transformers.disable_max_rows()


@pytest.fixture(scope="module")
def tl() -> sim.Timeline:
    return sim.run(sim.Scenario())


@pytest.fixture(scope="module")
def specs(tl):
    return charts.chart_specs(tl)


def _with_metrics(tl: sim.Timeline, **changes: list[float]) -> sim.Timeline:
    metrics = dict(tl.metrics)
    metrics.update(changes)
    return dataclasses.replace(tl, metrics=metrics)


def _series(spec: dict) -> list[dict]:
    (name,) = [k for k in spec["datasets"] if k.endswith("_series")]
    return spec["datasets"][name]


def _layers_using(spec: dict, data_name: str) -> list[dict]:
    return [layer for layer in spec["layer"] if layer.get("data", {}).get("name") == data_name]


def _by_id(specs: list[dict], chart_id: str) -> dict:
    return next(s for s in specs if s["id"] == chart_id)["spec"]


# ---- shape of the player's list -----------------------------------------------------------------
def test_ids_unique_and_all_charts_present(specs):
    ids = [s["id"] for s in specs]
    assert len(ids) == len(set(ids))
    assert tuple(ids) == charts.CHART_IDS
    for required in ("feed_quality", "views", "login", "upload", "load_time", "earnings", "retries", "backlog"):
        assert required in ids


def test_every_item_has_title_and_nonempty_description(specs, tl):
    for s in specs:
        assert s["title"].strip()
        assert len(s["description"].strip()) > 40
        assert s["spec"]["description"] == s["description"]  # Vega puts it on the SVG for screen readers
    views = next(s for s in specs if s["id"] == "views")["description"]
    for m in tl.milestones:
        assert f"{m.label} at {sim.clock(m.t_s)}" in views


def test_specs_are_strict_json(specs):
    for s in specs:
        text = json.dumps(s, allow_nan=False)
        assert json.loads(text) == s


def test_specs_are_valid_vega_lite(tl):
    for chart_id in charts.CHART_IDS:
        charts.chart(tl, chart_id).to_dict(validate=True)  # raises on a schema error


def test_chart_container_width_and_fixed_height(specs):
    for s in specs:
        assert s["spec"]["width"] == "container"
        assert isinstance(s["spec"]["height"], int)


# ---- cursor ------------------------------------------------------------------------------------
def test_every_chart_has_top_level_cursor_param_and_a_rule_at_it(specs):
    for s in specs:
        spec = s["spec"]
        params = {p["name"]: p for p in spec.get("params", [])}
        assert charts.CURSOR_PARAM == "cursor_t"
        assert params["cursor_t"]["value"] == 0
        assert "select" not in params["cursor_t"]  # a plain variable: view.signal() can set it
        cursor_rules = [
            layer for layer in spec["layer"]
            if layer["mark"]["type"] == "rule"
            and any(tr.get("calculate") == "cursor_t" and tr.get("as") == layer["encoding"]["x"]["field"]
                    for tr in layer.get("transform", []))
        ]
        assert len(cursor_rules) == 1, s["id"]
        for layer in spec["layer"]:
            assert "params" not in layer  # nested params would not be top-level signals


# ---- milestones ---------------------------------------------------------------------------------
def test_every_chart_has_milestone_rules_and_labels_at_exact_times(specs, tl):
    assert tl.milestones, "the default scenario has a power cut"
    for s in specs:
        spec = s["spec"]
        rows = spec["datasets"]["milestones"]
        assert [(r["t"], r["label"]) for r in rows] == [
            (m.t_s, m.label) for m in sorted(tl.milestones, key=lambda m: m.t_s)
        ]
        layers = _layers_using(spec, "milestones")
        kinds = [layer["mark"]["type"] for layer in layers]
        assert "rule" in kinds and "text" in kinds, s["id"]
        rule = next(layer for layer in layers if layer["mark"]["type"] == "rule")
        assert rule["mark"].get("strokeDash"), "milestones differ from data lines by dash, not colour alone"
        texts = [layer for layer in layers if layer["mark"]["type"] == "text"]
        assert all(layer["encoding"]["text"]["field"] == "label" for layer in texts)
        # together the text layers show every milestone once
        shown = sum(sum(1 for r in rows if r["align"] == t["mark"]["align"]) for t in texts)
        assert shown == len(rows)


def test_milestone_labels_do_not_overlap_at_narrowest_width(tl):
    base = tl
    ms = [sim.Milestone(600, "Power cut"), sim.Milestone(610, "Generators fail to start"),
          sim.Milestone(900, "UPS exhausted"), sim.Milestone(4500, "Power restored"),
          sim.Milestone(base.t_s[-1] - 60, "Recovered"), sim.Milestone(base.t_s[-1] - 50, "Counters caught up")]
    tl = dataclasses.replace(base, milestones=ms)
    rows = charts._milestone_rows(tl)
    t_end = tl.t_s[-1]
    spans = []
    for r, m in zip(rows, ms):
        w = (len(m.label) * charts._CHAR_PX + 6) / charts._MIN_PLOT_PX
        x = m.t_s / t_end
        lo, hi = (x - w, x) if r["align"] == "right" else (x, x + w)
        assert -0.01 <= lo and hi <= 1.01, m.label  # stays inside the plot
        spans.append((r["y"], lo, hi))
    for i, (y1, a1, b1) in enumerate(spans):
        for y2, a2, b2 in spans[i + 1:]:
            assert y1 != y2 or b1 < a2 or b2 < a1


# ---- data ----------------------------------------------------------------------------------------
def test_true_views_never_decrease_in_default_run(tl, specs):
    true = tl.metrics["views_true"]
    assert all(b >= a for a, b in zip(true, true[1:])), "views_true drops in the timeline"
    drawn = [r["a"] for r in _series(_by_id(specs, "views"))]
    assert all(b >= a for a, b in zip(drawn, drawn[1:])), "views_true drops in the chart data"


def test_percent_charts_show_0_to_100(tl, specs):
    spec = _by_id(specs, "feed_quality")
    rows = _series(spec)
    by_t = {r["t"]: r for r in rows}
    for i in (0, len(tl.t_s) // 2, len(tl.t_s) - 1):
        t = tl.t_s[i]
        if t in by_t:
            assert by_t[t]["a"] == pytest.approx(tl.metrics["feed_personalization"][i] * 100, abs=0.06)
            assert by_t[t]["b"] == pytest.approx(tl.metrics["feed_repeat_rate"][i] * 100, abs=0.06)
    layer = _layers_using(spec, "feed_quality_series")[-1]
    assert layer["encoding"]["y"]["scale"]["domain"] == [0, 100]


def test_hidden_values_are_gaps_not_zero(tl):
    n = len(tl.t_s)
    shown = list(tl.metrics["views_true"])
    hidden = [float("nan") if n // 4 <= i < n // 2 else v for i, v in enumerate(shown)]
    t2 = _with_metrics(tl, views_displayed=hidden)
    spec = _by_id(charts.chart_specs(t2), "views")
    json.dumps(spec, allow_nan=False)
    rows = _series(spec)
    in_gap = [r for r in rows if t2.t_s[n // 4] <= r["t"] < t2.t_s[n // 2]]
    assert in_gap and all(r["b"] is None for r in in_gap)  # null, never 0
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert line["mark"]["invalid"].startswith("break-paths")
    frame = charts.metrics_frame(t2)
    assert frame["views_displayed"].iloc[n // 3] != frame["views_displayed"].iloc[n // 3]  # NaN
    assert "hidden" in next(s for s in charts.chart_specs(t2) if s["id"] == "views")["description"]


def test_downsampling_caps_points_keeps_extremes_ends_and_milestones(tl):
    n = 2881  # 8 h at 10 s steps (a synthetic timeline: only the fields the charts read)
    rng = random.Random(7)
    t_s = [i * 10.0 for i in range(n)]
    noisy = [rng.random() for _ in range(n)]
    noisy[1234] = 1.5  # a spike
    noisy[2001] = -0.5  # a dip
    metrics = {name: [1.0] * n for name in sim.METRIC_NAMES}
    metrics["login_success"] = noisy
    t2 = dataclasses.replace(tl, scenario=tl.scenario.replace(duration_min=480, step_s=10), t_s=t_s,
                             metrics=metrics, milestones=[sim.Milestone(t_s[777], "Odd moment")])
    assert n > 2 * charts.MAX_POINTS
    base = t2
    rows = _series(_by_id(charts.chart_specs(t2), "login"))
    assert len(rows) <= charts.MAX_POINTS
    ts = [r["t"] for r in rows]
    assert ts == sorted(ts) and ts[0] == base.t_s[0] and ts[-1] == base.t_s[-1]
    assert base.t_s[777] in ts
    values = [r["a"] for r in rows]
    assert max(values) == 150.0 and min(values) == -50.0
    # the unreduced chart draws every step that is not an interior point of a flat run
    full = charts.chart(t2, "login").to_dict(validate=False)
    assert len(full["datasets"]["login_series"]) == n


def test_flat_runs_reduced_losslessly(tl):
    step = [1.0] * 100 + [0.0] * 100 + [1.0] * (len(tl.t_s) - 200)
    t2 = _with_metrics(tl, upload_success=step)
    rows = _series(_by_id(charts.chart_specs(t2), "upload"))
    assert len(rows) < 20
    # linear interpolation between kept points reproduces every step exactly
    kept = {r["t"]: r["a"] for r in rows}
    ts = sorted(kept)
    for i, t in enumerate(tl.t_s):
        j = max(k for k in range(len(ts)) if ts[k] <= t)
        if ts[j] == t:
            assert kept[t] == step[i] * 100
        else:
            a, b = ts[j], ts[j + 1]
            v = kept[a] + (kept[b] - kept[a]) * (t - a) / (b - a)
            assert v == pytest.approx(step[i] * 100)


def test_default_specs_are_compact(specs):
    total = sum(len(json.dumps(s["spec"], separators=(",", ":"))) for s in specs)
    assert total < 250_000
    for s in specs:
        assert len(_series(s["spec"])) <= charts.MAX_POINTS


# ---- style ----------------------------------------------------------------------------------------
def test_series_told_apart_by_colour_and_dash_with_legend(specs):
    okabe_ito = {c.upper() for c in charts.OKABE_ITO.values()}
    for s in specs:
        line = next(layer for layer in s["spec"]["layer"] if layer["mark"]["type"] == "line")
        enc = line["encoding"]
        assert enc["color"]["field"] == enc["strokeDash"]["field"] == "series"
        assert {c.upper() for c in enc["color"]["scale"]["range"]} <= okabe_ito
        dashes = [tuple(d) for d in enc["strokeDash"]["scale"]["range"]]
        assert len(set(dashes)) == len(dashes)
        assert enc["color"].get("legend") is not None  # legend shown


def test_time_axis_labelled_as_clock(specs, tl):
    for s in specs:
        x = next(layer for layer in s["spec"]["layer"] if layer["mark"]["type"] == "line")["encoding"]["x"]
        assert "labelExpr" in x["axis"] and "3600" in x["axis"]["labelExpr"]
        assert x["scale"]["domain"] == [0, tl.t_s[-1]]
        values = x["axis"]["values"]
        assert values[0] == 0 and all(v % 60 == 0 for v in values) and 3 <= len(values) <= 8


# ---- chart() and metrics_frame() -------------------------------------------------------------------
def test_chart_returns_altair_chart_and_rejects_unknown_id(tl):
    c = charts.chart(tl, "login")
    assert isinstance(c, alt.TopLevelMixin)
    assert c.to_dict()["params"][0]["name"] == "cursor_t"
    with pytest.raises(KeyError, match="feed_quality"):
        charts.chart(tl, "nope")


def test_metrics_frame_matches_timeline(tl):
    df = charts.metrics_frame(tl)
    assert list(df.columns) == ["t_s", "clock", *sim.METRIC_NAMES]
    assert len(df) == len(tl.t_s)
    assert df["clock"].tolist() == [sim.clock(t) for t in tl.t_s]
    for name in sim.METRIC_NAMES:
        for got, want in zip(df[name].tolist(), tl.metrics[name]):
            assert (math.isnan(got) and math.isnan(want)) or got == want
