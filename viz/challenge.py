"""The challenge's outcome card and the teacher's comparison of plans: tables and one chart, from
sim.challenge.Card figures (pure: no Streamlit)."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from sim.challenge import Card, plan_text


def _lost(c: Card) -> str:
    return "not readable" if c.events_lost is None else f"{c.events_lost:g}"


def card_rows(cards: dict[str, Card]) -> list[dict[str, str]]:
    """One row per feature (minutes users were affected), then the total and events lost; one column
    per plan ("Your plan", "Doing nothing", "Best plan found")."""
    names = list(cards)
    features = list(next(iter(cards.values())).harm_min) if cards else []
    rows = [{"": f, **{n: f"{cards[n].harm_min.get(f, 0.0):.0f} min" for n in names}} for f in features]
    rows.append({"": "All features (minutes of harm)", **{n: f"{cards[n].total_min:.0f} min" for n in names}})
    rows.append({"": "Events lost", **{n: _lost(cards[n]) for n in names}})
    rows.append({"": "Actions", **{n: plan_text(cards[n]) for n in names}})
    return rows


def plans_chart(cards: dict[str, Card]) -> alt.Chart:
    """Minutes of harm per feature, one bar per plan (stacked by feature), labelled with the total."""
    data = pd.DataFrame([{"plan": name, "feature": f, "minutes": m}
                         for name, c in cards.items() for f, m in c.harm_min.items()])
    totals = pd.DataFrame([{"plan": name, "total": c.total_min} for name, c in cards.items()])
    order = list(cards)
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("plan:N", sort=order, title=None),
        x=alt.X("sum(minutes):Q", title="minutes users were affected, summed over features"),
        color=alt.Color("feature:N", title="Feature"),
        tooltip=["plan", "feature", alt.Tooltip("minutes:Q", format=".0f")],
    )
    labels = alt.Chart(totals).mark_text(align="left", dx=4).encode(
        y=alt.Y("plan:N", sort=order), x="total:Q", text=alt.Text("total:Q", format=".0f"))
    return (bars + labels).properties(height=max(120, 34 * len(order)), width="container",
                                      title="Each plan's minutes of user harm after the power is back")


def card_figures(c: Card) -> dict[str, Any]:
    """The figures a test compares with the timeline's."""
    return {"harm_min": dict(c.harm_min), "total_min": c.total_min, "events_lost": c.events_lost}


__all__ = ["card_rows", "plans_chart", "card_figures"]
