"""AppTest: every page renders; the switch and the scheduled times re-run the model; presets load."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from tests.app.apptest_helpers import ROOT, flip_switch, player_data

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def states_at(data: dict, step: int) -> str:
    """The digit string of node states at a step (frames are sent only where something changed)."""
    row = data["node_frames"][0][1]
    for i, frame in data["node_frames"]:
        if i > step:
            break
        row = frame
    return row


def test_every_page_renders(app):
    app.run()
    ok(app)
    for page in sorted((ROOT / "app_pages").glob("*.py")):
        app.switch_page(str(page.relative_to(ROOT))).run()
        ok(app)


def test_the_explainer_keeps_its_scenario_across_pages(app):
    app.run()
    app.number_input(key="explainer_cut_min").set_value(20).run()
    others = [p for p in sorted((ROOT / "app_pages").glob("*.py")) if p.name != "explainer.py"]
    for page in others[:1]:
        app.switch_page(str(page.relative_to(ROOT))).run()
    app.switch_page("app_pages/explainer.py").run()
    ok(app)
    assert player_data(app)["flips"] == [[1200.0, False]]
    assert app.number_input(key="explainer_cut_min").value == 20


def test_opens_with_power_on_and_everything_healthy(app):
    app.run()
    ok(app)
    data = player_data(app)
    assert data["flips"] == []
    assert all(set(row) == {"0"} for _, row in data["node_frames"])
    assert app.get("bidi_component")[0].key == "explainer_player"


def test_cutting_power_reruns_the_model_and_changes_the_timeline(app):
    app.run()
    before = player_data(app)
    flip_switch(app, 600, False, "cut-1")
    ok(app)
    after = player_data(app)
    assert after["id"] != before["id"]
    assert after["ack"] == "cut-1"
    assert after["flips"] == [[600.0, False]]
    cut_step = int(600 / after["step_s"])
    assert states_at(after, cut_step - 1) == states_at(before, cut_step - 1)  # the past stays as it was
    assert any(states_at(after, s) != states_at(before, s) for s in range(cut_step, after["steps"]))

    flip_switch(app, 1800, True, "restore-1")
    ok(app)
    restored = player_data(app)
    assert restored["flips"] == [[600.0, False], [1800.0, True]]
    step = int(1800 / restored["step_s"])
    assert states_at(restored, step - 1) == states_at(after, step - 1)
    recovering = str(sim.STATES.index("recovering"))
    later = [states_at(restored, s) for s in range(step, restored["steps"])]
    assert any(recovering in row or row != states_at(after, s + step) for s, row in enumerate(later))


def test_a_repeated_click_is_applied_once(app, monkeypatch):
    app.run()
    flip_switch(app, 600, False, "same")
    first = player_data(app)
    flip_switch(app, 900, True, "same")  # same click id: a stale resend, not a new flip
    ok(app)
    assert player_data(app)["flips"] == first["flips"]


def test_identical_inputs_are_not_simulated_twice(app, monkeypatch):
    calls = []
    real = sim.run
    monkeypatch.setattr(sim, "run", lambda s, *a, **k: calls.append(s) or real(s, *a, **k))
    app.run()
    flip_switch(app, 610, False, "c1")
    n = len(calls)
    app.run()
    app.run()
    assert len(calls) == n


def test_scheduled_cut_and_restore(app):
    app.run()
    app.number_input(key="explainer_cut_min").set_value(20).run()
    app.number_input(key="explainer_restore_min").set_value(50).run()
    ok(app)
    assert player_data(app)["flips"] == [[1200.0, False], [3000.0, True]]


def test_bad_switch_input_shows_a_message_not_a_traceback(app):
    app.run()
    flip_switch(app, "soon", False, "bad")
    assert not app.exception
    assert any("switch" in e.value for e in app.error)


def test_every_preset_loads(app):
    app.run()
    box = app.selectbox(key="explainer_preset")
    assert len(box.options) >= 1
    for option in box.options:
        app.selectbox(key="explainer_preset").select(option).run()
        ok(app)
        data = player_data(app)
        key = app.session_state["explainer_preset"]
        presets = getattr(sim, "PRESETS", {})
        if key in presets:
            expected = [[t, on] for t, on in presets[key].scenario.utility_flips()]
            assert data["flips"] == expected
        assert data["steps"] > 1


def expand(frames: list, steps: int) -> list[str]:
    return [states_at({"node_frames": frames}, i) for i in range(steps)]


def test_a_flip_sends_its_first_minutes_then_the_whole_run(app):
    from tests.app.apptest_helpers import ask_for_the_rest

    app.run()
    whole_before = player_data(app)
    flip_switch(app, 600, False, "cut-first")
    ok(app)
    first = player_data(app)
    assert first["partial"] is True and first["ack"] == "cut-first"
    assert first["total_steps"] == whole_before["steps"]            # the scrubber keeps the whole run
    assert first["steps"] < first["total_steps"] and first["steps"] * first["step_s"] > 600 + 15 * 60
    assert first["charts"] == []                                     # charts wait for the whole run

    ask_for_the_rest(app)
    ok(app)
    whole = player_data(app)
    assert not whole.get("partial") and whole["steps"] == whole_before["steps"] and whole["charts"]
    assert whole["flips"] == first["flips"] == [[600.0, False]]
    # The first minutes are exactly the start of the whole run: nothing shown changes when it arrives.
    n = first["steps"]
    assert expand(first["node_frames"], n) == expand(whole["node_frames"], whole["steps"])[:n]
    assert first["events"] == [e for e in whole["events"] if e[0] <= (n - 1) * first["step_s"]]
    assert first["captions"] == [c for c in whole["captions"] if c[0] <= (n - 1) * first["step_s"]]

    app.run()                                                        # an ordinary rerun keeps the whole run
    assert player_data(app)["id"] == whole["id"]


def test_a_flip_to_a_run_already_simulated_sends_it_whole(app):
    from tests.app.apptest_helpers import ask_for_the_rest

    app.run()
    flip_switch(app, 610, False, "a")
    ask_for_the_rest(app)
    whole = player_data(app)
    app.selectbox(key="explainer_preset").select("free_play").run()   # start again: power on
    app.selectbox(key="explainer_preset").select("as_reported").run()
    app.selectbox(key="explainer_preset").select("free_play").run()
    flip_switch(app, 610, False, "b")                                # the same flip again
    ok(app)
    again = player_data(app)
    assert not again.get("partial") and again["id"] == whole["id"]


@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "app_pages").glob("*.py")))
def test_every_page_renders_again_after_another_page(app, page):
    """Streamlit drops a widget's state when another page is shown: a page that reads one of its
    widget keys before drawing it must still render when the visitor comes back."""
    app.switch_page(f"app_pages/{page}").run()
    ok(app)
    app.switch_page("app_pages/about.py" if page != "about.py" else "app_pages/explainer.py").run()
    app.switch_page(f"app_pages/{page}").run()
    ok(app)
