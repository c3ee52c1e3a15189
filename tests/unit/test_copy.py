"""Copy defects of issue 14 that a unit test can pin: Compare's numbered milestones never overlap
and share a rule when they happen together; the Experiment's long axis title is wrapped, not cut."""

from __future__ import annotations

import sim
from viz import charts
from viz.whatif import page_chart, wrap_title


def _retry_storm_b() -> sim.Timeline:
    return sim.run(sim.PRESETS["retry_storm"].scenario.replace(retry_policy="backoff"))


def test_numbered_milestones_are_short_grouped_and_do_not_overlap():
    tl = _retry_storm_b()
    rows = charts._milestone_rows(tl, numbered=True)
    key = charts.milestone_key(tl)
    assert [n for n, _, _ in key] == list(range(1, len(tl.milestones) + 1))
    assert len(rows) < len(tl.milestones)                         # same-moment milestones share a rule
    assert all(len(r["label"]) <= 5 for r in rows)                 # "3" or "1–4", never the words
    assert len({r["t"] for r in rows}) == len(rows)
    t_end = tl.t_s[-1]
    spans = []
    for r in rows:
        w = (len(r["label"]) * charts._CHAR_PX + 6) / charts._MIN_PLOT_PX
        x = r["t"] / t_end
        spans.append((r["y"], *((x - w, x) if r["align"] == "right" else (x, x + w))))
    for i, (y1, a1, b1) in enumerate(spans):
        for y2, a2, b2 in spans[i + 1:]:
            assert y1 != y2 or b1 < a2 or b2 < a1
    # the words are still in the tooltip
    assert all(" — " in r["clock"] for r in rows)


def test_compare_charts_are_numbered_and_other_charts_keep_their_words():
    tl = _retry_storm_b()
    numbered = page_chart(tl, "login", numbered=True).to_dict()["datasets"]["milestones"]
    worded = page_chart(tl, "login").to_dict()["datasets"]["milestones"]
    assert all(m["label"][0].isdigit() for m in numbered)
    assert {m["label"] for m in worded} == {m.label for m in tl.milestones}


def test_a_long_axis_title_is_wrapped():
    lines = wrap_title("Time to recover after power is back at the servers (min)")
    assert isinstance(lines, list) and all(len(line) <= 28 for line in lines)
    assert " ".join(lines) == "Time to recover after power is back at the servers (min)"
    assert wrap_title("Login outage (min)") == "Login outage (min)"
