"""AppTest with injected faults (ui/guard.py reads LIGHTS_OUT_FAULT): when a simulation raises or
runs past its time budget, every page says so in plain words, keeps the last good result — and its
controls agree with it — never shows a traceback, never caches the failure, and other sessions carry on.
"""

from __future__ import annotations

import json
import threading

import pytest
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.testing.v1 import AppTest

from sim.interventions import Intervention
from tests.app.apptest_helpers import APP, flip_switch, player_data
from ui import guard

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    """Every test starts from empty caches (a cached run is never simulated, so never faulted)."""
    monkeypatch.delenv(guard.FAULT_ENV, raising=False)
    monkeypatch.delenv(guard.BUDGET_ENV, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str | None = None, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if params:
        at.query_params.update(params)
    if page:
        at.switch_page(page)
    return at.run()


def keyed_player(at: AppTest, key: str = "lab.player") -> dict:
    (comp,) = [c for c in at.get("bidi_component") if c.key == key]
    return json.loads(comp.proto.json or comp.proto.mixed.json)


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, errors(at)


def assert_kept_message(at: AppTest, why: str) -> None:
    assert not at.exception, [e.message for e in at.exception]
    text = errors(at)
    assert "could not be simulated" in text and why in text and "still showing the previous run" in text, text
    assert "Traceback" not in text and "RuntimeError" not in text


# ---- explainer ------------------------------------------------------------------------------------
def test_explainer_a_failed_flip_keeps_the_previous_run_and_a_truthful_switch(monkeypatch):
    at = open_page()
    assert_clean(at)
    before = player_data(at)
    monkeypatch.setenv(guard.FAULT_ENV, "raise:actions!=()")
    flip_switch(at, 1800, False, "cut-1")
    assert_kept_message(at, "the model stopped with an error")
    after = player_data(at)
    assert after["id"] == before["id"] and after["flips"] == [] == before["flips"]  # the same run, no flip
    assert after["ack"] == "cut-1"  # the switch settles (it reads ON again from the run it shows)
    assert at.session_state["explainer"]["scenario"].actions == ()
    # The failure was not cached: the same flip works once the fault is gone.
    monkeypatch.delenv(guard.FAULT_ENV)
    flip_switch(at, 1800, False, "cut-2")
    assert_clean(at)
    assert player_data(at)["flips"] == [[1800.0, False]]


def test_explainer_a_run_over_budget_says_so_and_keeps_the_previous_run(monkeypatch):
    at = open_page()
    before = player_data(at)
    monkeypatch.setenv(guard.BUDGET_ENV, "0.5")
    monkeypatch.setenv(guard.FAULT_ENV, "hang:power_cut_min=20.0")
    at.number_input(key="explainer_cut_min").set_value(20).run()
    assert_kept_message(at, "it took longer than 0.5 s")
    assert at.number_input(key="explainer_cut_min").value is None  # the widget is back to the run shown
    assert player_data(at)["id"] == before["id"]


def test_explainer_a_failed_preset_keeps_the_scenario_and_the_clock(monkeypatch):
    at = open_page()
    before = player_data(at)
    monkeypatch.setenv(guard.FAULT_ENV, "raise:retry_policy=immediate")  # retry_storm retries at once
    at.selectbox(key="explainer_preset").select("retry_storm").run()
    assert_kept_message(at, "error")
    assert at.selectbox(key="explainer_preset").value == "free_play"
    after = player_data(at)
    assert after["id"] == before["id"] and after["epoch"] == before["epoch"]  # epoch unchanged: no clock reset


def test_explainer_first_run_failing_shows_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv(guard.FAULT_ENV, "raise")
    at = open_page()
    assert not at.exception
    assert "This scenario could not be simulated" in errors(at)
    assert not at.get("bidi_component")


# ---- lab, compare, experiment ------------------------------------------------------------------
def test_lab_a_failed_change_reverts_the_widget_and_keeps_the_result(monkeypatch):
    at = open_page("app_pages/lab.py")
    assert_clean(at)
    before, ups = keyed_player(at), at.number_input(key="lab.ups_minutes").value
    monkeypatch.setenv(guard.FAULT_ENV, "raise:ups_minutes=12.5")
    at.number_input(key="lab.ups_minutes").set_value(12.5).run()
    assert_kept_message(at, "error")
    assert at.number_input(key="lab.ups_minutes").value == ups
    assert keyed_player(at)["id"] == before["id"]
    assert at.table and at.query_params["ups_minutes"] != ["12.5"]  # outcomes and link match the run shown


def test_lab_over_budget(monkeypatch):
    at = open_page("app_pages/lab.py")
    monkeypatch.setenv(guard.BUDGET_ENV, "0.5")
    monkeypatch.setenv(guard.FAULT_ENV, "hang:ups_minutes=12.5")
    at.number_input(key="lab.ups_minutes").set_value(12.5).run()
    assert_kept_message(at, "it took longer than 0.5 s")


def test_compare_names_the_side_that_failed_and_keeps_both(monkeypatch):
    at = open_page("app_pages/compare.py")
    assert_clean(at)
    charts = len(at.get("vega_lite_chart"))
    monkeypatch.setenv(guard.FAULT_ENV, "raise:retry_policy=budget")
    at.selectbox(key="cmp.b.retry_policy").select("budget").run()
    assert_kept_message(at, "B: the model stopped with an error")
    assert at.selectbox(key="cmp.b.retry_policy").value == "backoff"
    assert at.session_state["cmp.b.scenario"].retry_policy == "backoff"
    assert len(at.get("vega_lite_chart")) == charts and at.table


def test_experiment_names_the_failed_runs_and_plots_the_others(monkeypatch):
    at = open_page("app_pages/experiment.py", {"knob": "max_retries", "lo": "0", "hi": "5", "points": "3",
                                               "seeds": "1"})
    monkeypatch.setenv(guard.FAULT_ENV, "raise:max_retries=2")
    next(b for b in at.button if b.label == "Run experiment").click().run()
    assert not at.exception
    (warning,) = at.warning
    text = warning.value.replace("\\", "")
    assert "1 of 3 runs could not be simulated" in text and "Max retries = 2, seed" in text, text
    assert len(at.get("vega_lite_chart")) == 1
    assert len(at.session_state["exp.result"][1].points) == 2
    # Every run failing: the previous result stays, and the page says so.
    monkeypatch.setenv(guard.FAULT_ENV, "raise")
    at.number_input(key="exp.seed").set_value(5).run()
    next(b for b in at.button if b.label == "Run experiment").click().run()
    assert not at.exception
    (warning,) = at.warning
    assert "could not be run" in warning.value and "still showing the previous result" in warning.value
    assert len(at.get("vega_lite_chart")) == 1 and len(at.session_state["exp.result"][1].points) == 2


# ---- classroom ----------------------------------------------------------------------------------
def test_story_a_chapter_that_cannot_be_simulated_keeps_the_previous_step(monkeypatch):
    at = open_page("app_pages/story.py", {"chapter": "7"})
    assert_clean(at)
    before = keyed_player(at, "story_player")
    monkeypatch.setenv(guard.FAULT_ENV, "raise")  # chapter 8 runs a scenario nothing has run yet
    at.selectbox(key="chapter_pick").select(7).run()
    assert not at.exception
    assert "This step could not be simulated" in errors(at)
    assert keyed_player(at, "story_player")["id"] == before["id"]


def test_teacher_notes_say_when_the_numbers_cannot_be_computed(monkeypatch):
    monkeypatch.setenv(guard.FAULT_ENV, "raise")
    at = open_page("app_pages/teacher.py")
    assert not at.exception
    assert "could not be computed" in errors(at)
    monkeypatch.delenv(guard.FAULT_ENV)
    at.run()  # not cached: the next visit computes them
    assert_clean(at)


# ---- other sessions ------------------------------------------------------------------------------
def test_a_stalled_run_in_one_session_does_not_block_another(monkeypatch):
    a, b = open_page(), open_page()
    stalled = threading.Event()
    real = guard._inject

    a_flip = (Intervention("power", start_min=30.0),)     # A's flip at 0:30; B's cut at 0:20 is another run

    def watched(s):
        if s.actions == a_flip:
            stalled.set()
        real(s)

    monkeypatch.setattr(guard, "_inject", watched)
    monkeypatch.setenv(guard.BUDGET_ENV, "600")
    monkeypatch.setenv(guard.FAULT_ENV, f"hang:actions={a_flip}")  # stalls until the variable changes
    flip = threading.Thread(target=flip_switch, args=(a, 1800, False, "cut-a"), daemon=True)
    flip.start()
    assert stalled.wait(120)
    # AppTest keeps its mock Runtime in one global slot, cleared when a run ends: give A its own back
    # after B's run (a real server has one Runtime for every session).
    a_runtime = Runtime._instance
    b.number_input(key="explainer_cut_min").set_value(20).run()  # a run nobody has cached
    Runtime._instance = a_runtime
    assert flip.is_alive()  # A is still stuck while B has its new result
    assert_clean(b)
    assert player_data(b)["flips"] == [[1200.0, False]]
    monkeypatch.delenv(guard.FAULT_ENV)  # release A: its run then completes normally
    flip.join(120)
    assert not flip.is_alive()
    assert_clean(a)
    assert player_data(a)["flips"] == [[1800.0, False]]
