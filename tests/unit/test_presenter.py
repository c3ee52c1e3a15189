"""Presenter mode's charts (viz.presenter): every text of a chart spec at least 1.5× its normal size,
whether the spec sets the size or leaves it to Vega-Lite's defaults."""

from __future__ import annotations

import copy

import sim
from viz.charts import chart_specs
from viz.player import build_payload
from viz.presenter import DEFAULTS, SCALE, enlarge, presenter_payload


def _sizes(node, path=()):
    """Every (path, value) of a font size in a spec."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("datasets", "data"):
                continue
            if k in ("fontSize", "labelFontSize", "titleFontSize") and isinstance(v, (int, float)):
                yield path + (k,), v
            else:
                yield from _sizes(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _sizes(v, path + (i,))


def _at(spec, path):
    for p in path:
        spec = spec[p]
    return spec


def test_every_font_size_grows_by_half_and_defaults_are_set():
    tl = sim.run(sim.PRESETS["as_reported"].scenario.replace(duration_min=60))
    for chart in chart_specs(tl):
        spec = chart["spec"]
        before = copy.deepcopy(spec)
        big = enlarge(spec)
        assert spec == before                       # the original is left alone
        sizes = list(_sizes(spec))
        assert sizes, chart["id"]
        for path, size in sizes:
            assert _at(big, path) == size * SCALE, (chart["id"], path)
        for part, keys in DEFAULTS.items():        # what the spec left to Vega-Lite is set, larger
            for key, size in keys.items():
                assert big["config"][part][key] >= size * SCALE
        assert enlarge(big) == big                  # once only
        if "height" in spec:
            assert big["height"] == spec["height"] * SCALE


def test_presenter_payload_enlarges_the_players_charts_only_when_on():
    tl = sim.run(sim.FREE_PLAY.replace(duration_min=30))
    payload = build_payload(tl, chart_specs(tl))
    off = presenter_payload(payload, False)
    on = presenter_payload(payload, True)
    assert off["presenter"] is False and on["presenter"] is True
    assert off["charts"] == payload["charts"]
    assert [c["id"] for c in on["charts"]] == [c["id"] for c in payload["charts"]]
    assert all(c["spec"]["usermeta"]["enlarged"] for c in on["charts"])
    assert on["nodes"] == payload["nodes"] and on["id"] == payload["id"]
