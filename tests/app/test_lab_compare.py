"""AppTest for the what-if pages (Lab, Compare, Experiment): they render, links round-trip, and
tampered links open the nearest valid settings with a notice instead of a traceback."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import sim
from sim.links import from_params, to_params
from tests.app.apptest_helpers import APP

PAGES = ("app_pages/lab.py", "app_pages/compare.py", "app_pages/experiment.py")


def open_page(page: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if params:
        at.query_params.update(params)
    at.switch_page(page)
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_without_exceptions(page):
    at = open_page(page)
    assert not at.exception, [e.message for e in at.exception]
    assert not at.warning
    assert at.query_params  # the configuration is in the URL from the first view


def test_lab_writes_every_setting_into_the_link_and_follows_widgets():
    at = open_page("app_pages/lab.py")
    params = dict(at.query_params)
    assert set(params) == {"preset", *sim.scenario.FIELDS}
    at.selectbox(key="lab.retry_policy").set_value("backoff").run()
    at.number_input(key="lab.max_retries").set_value(1).run()
    params = dict(at.query_params)
    assert params["retry_policy"] == "backoff" and params["max_retries"] == "1"
    assert at.session_state["lab.scenario"].retry_policy == "backoff"
    assert not at.exception


def test_link_round_trips_through_the_lab():
    """The settings parsed from a URL built from a scenario equal that scenario."""
    s = sim.PRESETS["retry_storm"].scenario.replace(
        retry_policy="budget", max_retries=2, load=1.15, failover_headroom=0.45, seed=4242,
        power_switch=((30.5, False), (42.0, True)), counter_fallback="hide", shed_load_min=None)
    params = to_params("retry_storm", s)
    assert from_params(params) == ("retry_storm", s, [])
    at = open_page("app_pages/lab.py", params)
    assert not at.exception and not at.warning
    assert at.session_state["lab.scenario"] == s
    assert at.session_state["lab.preset"] == "retry_storm"
    assert dict(at.query_params) == params  # the page writes back exactly what it was given


def test_tampered_lab_link_is_clamped_with_a_notice():
    bad = {"preset": "no_such_story", "load": "9", "max_retries": "2.6", "generator": "maybe",
           "ups_minutes": "lots", "seed": "-3", "retry_policy": "BACK", "power_switch": "5:off,x:y",
           "zzz": "[click](http://example.com)"}
    at = open_page("app_pages/lab.py", bad)
    assert not at.exception
    (warning,) = at.warning
    text = warning.value
    for word in ("no\\_such\\_story", "load=9", "whole number", "maybe", "lots", "seed=\\-3", "zzz", "x:y"):
        assert word.replace("\\", "") in text.replace("\\", ""), word
    assert "](http" not in text  # link text from the URL is escaped, never a live link
    s = at.session_state["lab.scenario"]
    assert at.session_state["lab.preset"] == sim.DEFAULT_PRESET
    assert (s.load, s.max_retries, s.generator, s.seed, s.retry_policy) == (3.0, 3, "fails", 0, "backoff")
    assert s.ups_minutes == sim.PRESETS[sim.DEFAULT_PRESET].scenario.ups_minutes
    assert s.utility_flips() == [(300.0, False), (4500.0, True)]   # the cut at 5 joins the preset's
    assert dict(at.query_params)["load"] == "3"  # the URL now holds the valid settings
    # the notice goes away once the visitor changes something
    at.number_input(key="lab.load").set_value(1.0).run()
    assert not at.warning


def test_compare_retry_storm_immediate_does_not_recover_backoff_does():
    at = open_page("app_pages/compare.py")
    assert not at.exception
    text = texts(at)
    assert "**A does not recover**" in text and "**B recovers**" in text
    (table,) = at.table
    rows = table.value
    recover = rows[rows["Outcome"].str.startswith("Time to recover")].iloc[0]
    assert recover["A"].startswith("never") and recover["B"].endswith("min")
    lost = rows[rows["Outcome"] == "Events lost"].iloc[0]
    assert lost["A"].startswith("0") and lost["B"] == "0"
    assert len(at.get("vega_lite_chart")) == 8  # 4 charts × A and B


def test_compare_link_round_trips_and_clamps():
    a = sim.PRESETS["cooling_failure"].scenario.replace(seed=9, load=0.8)
    b = sim.PRESETS["well_engineered"].scenario.replace(seed=9, timeout_s=3.5)
    params = {**to_params("cooling_failure", a, "a."), **to_params("well_engineered", b, "b.")}
    at = open_page("app_pages/compare.py", params)
    assert not at.exception and not at.warning
    assert at.session_state["cmp.a.scenario"] == a and at.session_state["cmp.b.scenario"] == b
    bad = dict(params, **{"a.load": "-1", "b.retry_policy": "sometimes", "b.seed": "3", "other": "1"})
    at = open_page("app_pages/compare.py", bad)
    assert not at.exception
    (warning,) = at.warning
    assert "A: load=-1" in warning.value.replace("\\", "")
    assert "sometimes" in warning.value and "same seed" in warning.value and "other" in warning.value
    assert at.session_state["cmp.a.scenario"].load == 0.1
    assert at.session_state["cmp.b.scenario"].seed == 9


def test_experiment_runs_with_progress_and_shows_the_tipping_point():
    at = open_page("app_pages/experiment.py", {"knob": "max_retries", "lo": "0", "hi": "5", "points": "3", "seeds": "1"})
    assert not at.exception and not at.warning
    run_button = next(b for b in at.button if b.label == "Run experiment")
    run_button.click().run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 1
    assert "Tipping point" in texts(at)


def test_tampered_experiment_link_is_clamped():
    at = open_page("app_pages/experiment.py", {"knob": "colour", "points": "500", "window": "-4", "y": "bogus",
                                           "load": "abc", "preset": "retry_storm"})
    assert not at.exception
    (warning,) = at.warning
    for word in ("colour", "points=500", "window=-4", "bogus", "abc"):
        assert word in warning.value.replace("\\", ""), word
    assert at.session_state["exp.points"] == 20 and at.session_state["exp.window"] == 10


def test_changes_from_the_preset_are_named_in_words():
    """Issue 14: "Changed from the preset: power_restored_min = 45" named code, not the controls."""
    at = open_page("app_pages/lab.py", {"preset": "as_reported", "retry_policy": "backoff",
                                        "power_restored_min": "45"})
    line = next(m.value for m in at.markdown if m.value.startswith("**Changed from the preset:**")).replace("\\", "")
    assert "Retry policy: backoff" in line and "Utility power off, 0:15 to 0:45" in line
    assert "retry_policy" not in line and "power_restored_min" not in line and "start_min" not in line


def test_compare_says_when_the_generators_brought_power_back():
    """Issue 14: B 'recovers N min after power returns' while its chart shows the utility feed back
    later — the power came from the generators, and the page says so."""
    at = open_page("app_pages/compare.py")
    verdict = next(m.value for m in at.markdown if m.value.startswith("**A "))
    b_line = next(line for line in verdict.split("\n") if line.startswith("**B "))
    s = sim.PRESETS["retry_storm"].scenario
    utility = sim.clock(max(t for t, on in s.utility_flips() if on))
    assert "generators took over" in b_line and utility in b_line, b_line
    key = [m.value for m in at.markdown if m.value.startswith("**A:**") or m.value.startswith("**B:**")]
    assert len(key) == 2 and all("Power cut" in k for k in key)


def away_and_back(at: AppTest, page: str) -> AppTest:
    """Another page, then this one again (Streamlit drops the widget state of the page left)."""
    at.switch_page("app_pages/about.py").run()
    return at.switch_page(page).run()


def test_what_the_visitor_chose_survives_a_visit_to_another_page():
    at = open_page("app_pages/lab.py")
    at.selectbox(key="lab.preset").set_value("retry_storm").run()
    at.number_input(key="lab.max_retries").set_value(1).run()
    lab = dict(at.query_params)
    away_and_back(at, "app_pages/lab.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="lab.preset").value == "retry_storm"
    assert dict(at.query_params) == lab

    at.switch_page("app_pages/compare.py").run()
    at.selectbox(key="cmp.b.preset").set_value("retry_storm").run()
    at.number_input(key="cmp.seed").set_value(77).run()
    compare = dict(at.query_params)
    away_and_back(at, "app_pages/compare.py")
    assert not at.exception, [e.value for e in at.exception]
    assert (at.selectbox(key="cmp.b.preset").value, at.number_input(key="cmp.seed").value) == ("retry_storm", 77)
    assert dict(at.query_params) == compare

    at.switch_page("app_pages/experiment.py").run()
    at.selectbox(key="exp.knob").set_value("max_retries").run()
    at.number_input(key="exp.points").set_value(3)
    at.number_input(key="exp.seed").set_value(9).run()
    experiment = dict(at.query_params)
    away_and_back(at, "app_pages/experiment.py")
    assert not at.exception, [e.value for e in at.exception]
    assert dict(at.query_params) == experiment
    (use_lab,) = [b for b in at.button if b.label == "Use the Lab's settings"]
    use_lab.click().run()  # the Lab's widgets were dropped two pages ago; its preset is still known
    assert at.selectbox(key="exp.preset").value == "retry_storm"
    assert at.session_state["exp.base"] == at.session_state["lab.scenario"]
