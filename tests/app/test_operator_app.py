"""AppTest (issue 13): operator actions through the player's trigger, the challenge's budget, its
shared link and outcome card (figures equal the timeline's), Undo."""

from __future__ import annotations

import pytest

import sim
from sim import challenge
from tests.app.apptest_helpers import player_data, send_trigger

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def _small_search(monkeypatch):
    monkeypatch.setattr(challenge, "TIMES_MIN", (75.0, 90.0))   # the search's figures, in seconds not minutes


def act(at, name, t_s, value=True, node=None, click="c1"):
    return send_trigger(at, "act", {"name": name, "t": t_s, "value": value, "node": node, "click_id": click})


def test_an_action_from_the_player_becomes_an_intervention_at_that_moment(app):
    app.run()
    act(app, "Shed load", 1800.0)
    s = app.session_state.explainer["scenario"]
    assert [a.text() for a in s.actions if a.kind == "shed_load"] == ["shed_load start_min=30"]
    data = player_data(app)
    assert [a["name"] for a in data["taken"]] == ["Shed load"] and data["undo_after"] == 1800.0
    act(app, "Add capacity", 2400.0, 2, "no_such_node", click="c2")
    assert "could not be taken" in player_data(app)["act_error"] and "choose one of" in player_data(app)["act_error"]
    send_trigger(app, "act", {"name": "Undo", "t": 600.0, "click_id": "c3"})
    assert app.session_state.explainer["scenario"] == sim.FREE_PLAY
    assert player_data(app)["taken"] == []


def test_the_challenge_counts_actions_from_when_the_power_is_back(app):
    app.run()
    app.selectbox(key="explainer_preset").set_value("challenge").run()
    data = player_data(app)
    assert data["challenge"] == {"start": 4500.0, "budget": 3, "used": 0}
    act(app, "Shed load", 600.0)
    assert "starts at 1:15" in player_data(app)["act_error"]
    for n, (name, t) in enumerate([("Shed load", 4800.0), ("Retry budget", 5100.0), ("Warm the caches", 5400.0)]):
        act(app, name, t, click=f"k{n}")
        assert player_data(app)["act_error"] == ""
    act(app, "Circuit breakers", 5700.0, click="k9")
    assert "used your 3 actions" in player_data(app)["act_error"]
    assert player_data(app)["challenge"]["used"] == 3


def test_a_shared_plan_replays_and_the_card_shows_the_models_figures(app):
    app.query_params["challenge"] = "1"
    app.query_params["plan"] = "shed_load start_min=80;warm_caches start_min=90"
    app.run()
    assert not app.exception
    state = app.session_state.explainer
    assert state["preset"] == "challenge"
    plan = state["scenario"]
    assert [a.text() for a in plan.actions][1:] == ["shed_load start_min=80", "warm_caches start_min=90"]
    app.button(key="challenge_score").click().run()
    assert not app.exception, [e.value for e in app.exception]
    table = app.table[0].value
    yours = challenge.card(sim.run(plan))
    nothing = challenge.card(sim.run(challenge.SCENARIO))
    col = list(table.columns)
    assert col[1:] == ["Your plan", "Doing nothing", "Best plan found"]
    rows = {r[col[0]]: r for _, r in table.iterrows()}
    for feature, minutes in yours.harm_min.items():
        assert rows[feature]["Your plan"] == f"{minutes:.0f} min"
        assert rows[feature]["Doing nothing"] == f"{nothing.harm_min[feature]:.0f} min"
    assert rows["Events lost"]["Your plan"] == "0"
    best = challenge.search(budget=challenge.BUDGET)
    assert rows["All features (minutes of harm)"]["Best plan found"] == f"{best.card.total_min:.0f} min"
    link = app.code[0].value
    assert "challenge=1" in link and "shed_load+start_min%3D80" in link


def test_a_bad_shared_plan_says_why_and_opens_the_challenge(app):
    app.query_params["challenge"] = "1"
    app.query_params["plan"] = "shed_load start_min=20"
    app.run()
    assert not app.exception
    assert "could not be read" in app.error[0].value and "1:15 or later" in app.error[0].value
    assert app.session_state.explainer["scenario"] == challenge.SCENARIO


def test_a_teacher_compares_the_class_plans_on_one_chart(app):
    app.query_params["challenge"] = "1"
    app.run()
    links = ("http://x/?challenge=1&plan=shed_load+start_min%3D80\n"
             "http://x/?challenge=1&plan=retry_budget+start_min%3D90\n"
             "http://x/?challenge=1&plan=power+start_min%3D1")
    app.text_area(key="challenge_links").set_value(links).run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("line 3" in w.value and "1:15 or later" in w.value for w in app.warning)
    table = app.table[0].value
    assert list(table.columns)[1:] == ["Plan 1", "Plan 2", "Doing nothing"]
    assert len(app.get("vega_lite_chart")) == 1


def test_an_action_in_the_lab_becomes_a_scheduled_change(app):
    app.switch_page("app_pages/lab.py").run()
    send_trigger(app, "act", {"name": "Circuit breakers", "t": 5400.0, "value": True, "click_id": "lab1"})
    assert not app.exception
    s = app.session_state["lab.scenario"]
    assert "breakers start_min=90" in [a.text() for a in s.actions]
    assert player_data(app)["actions_enabled"] is True


def test_undo_in_a_replayed_plan_keeps_the_actions_before_that_moment(app):
    app.query_params["challenge"] = "1"
    app.query_params["plan"] = "shed_load start_min=80;warm_caches start_min=90"
    app.run()
    send_trigger(app, "act", {"name": "Undo", "t": 5100.0, "click_id": "u1"})   # 1:25: after the shed, before the warming
    texts = [a.text() for a in app.session_state.explainer["scenario"].actions]
    assert texts[1:] == ["shed_load start_min=80"]
    assert player_data(app)["challenge"]["used"] == 1
