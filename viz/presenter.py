"""Presenter mode for charts: every text of a Vega-Lite spec 1.5× larger, so a projected chart can be
read from the back of a classroom (issue 14: chart and label text ≥ 1.5× normal).

Pure: a spec (dict) in, a new spec out. Sizes the spec leaves to Vega-Lite's defaults are set
explicitly (the defaults below), so nothing stays at its normal size; heights grow by the same
factor so that larger labels do not crowd the plot.
"""

from __future__ import annotations

import copy
from typing import Any

SCALE = 1.5
FONT_KEYS = ("fontSize", "labelFontSize", "titleFontSize")
# Vega-Lite's defaults, for what a spec does not set itself.
DEFAULTS = {"axis": {"labelFontSize": 10, "titleFontSize": 11}, "legend": {"labelFontSize": 10, "titleFontSize": 11},
            "header": {"labelFontSize": 10, "titleFontSize": 11}, "title": {"fontSize": 13},
            "text": {"fontSize": 11}}


def enlarge(spec: dict[str, Any], k: float = SCALE) -> dict[str, Any]:
    """A copy of `spec` with every font size (and fixed height) × k. Idempotent per marker: a spec
    already enlarged is returned unchanged."""
    if spec.get("usermeta", {}).get("enlarged"):
        return spec
    out = copy.deepcopy(spec)
    _scale(out, k)
    config = out.setdefault("config", {})
    for part, sizes in DEFAULTS.items():
        section = config.setdefault(part, {})
        for key, size in sizes.items():
            section.setdefault(key, size * k)
    if out.get("width") == "container":
        # Larger axis labels must not push the chart past its box (a scrolling figure): fit the
        # whole chart, padding included, to the width.
        out.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    out.setdefault("usermeta", {})["enlarged"] = True
    return out


def _scale(node: Any, k: float) -> None:
    if isinstance(node, list):
        for item in node:
            _scale(item, k)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("datasets", "data"):
            continue                      # values, not sizes
        if key in FONT_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            node[key] = value * k
        elif key == "height" and isinstance(value, (int, float)) and not isinstance(value, bool):
            node[key] = value * k
        else:
            _scale(value, k)


def presenter_payload(payload: dict[str, Any], on: bool) -> dict[str, Any]:
    """The player's data in presenter mode: its charts enlarged, and the flag the player reads."""
    if not on:
        return dict(payload, presenter=False)
    charts = [dict(c, spec=enlarge(c["spec"])) for c in payload.get("charts", [])]
    return dict(payload, charts=charts, presenter=True)
