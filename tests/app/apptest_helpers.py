"""AppTest helpers: the app's absolute path and a way to press the player's power switch.

AppTest runs no JavaScript, so a flip of the switch is sent the way the browser sends it: a trigger
value ("power_switch") on the component's trigger widget. That uses Streamlit internals
(`_make_trigger_id`, `AppTest._run`); if a Streamlit upgrade moves them, fix `flip_switch` here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _player(at):
    """The page's player component (the Lab also has an export bar)."""
    comps = [c for c in at.get("bidi_component") if "player" in c.proto.component_name]
    (comp,) = comps or at.get("bidi_component")
    return comp


def player_data(at) -> dict:
    """The payload the page sent to the player component in the last run."""
    comp = _player(at)
    proto = comp.proto
    return json.loads(proto.json) if proto.json else json.loads(proto.mixed.json)


def send_trigger(at, event: str, value):
    """Run the app as if the player component sent the trigger `event` with `value`."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    comp = _player(at)
    states = at._tree.get_widget_states()
    w = states.widgets.add()
    w.id = _make_trigger_id(comp.proto.id, "events")
    w.json_trigger_value = json.dumps([{"event": event, "value": value}])
    return at._run(states)


def flip_switch(at, t_s: float, on: bool, click_id: str):
    """Run the app as if the power switch was clicked at simulated time t_s."""
    return send_trigger(at, "power_switch", {"t": t_s, "on": on, "click_id": click_id})


def ask_for_the_rest(at):
    """Run the app as the player does once it has the first minutes of a run after a flip."""
    return send_trigger(at, "rest", {"id": player_data(at)["id"]})
