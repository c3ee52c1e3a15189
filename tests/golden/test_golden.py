"""Each preset's timeline equals its committed golden file (regenerate deliberately, never silently)."""

import json

import pytest

from sim import PRESETS
from tests.golden.regenerate import golden, path


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_matches_golden(name):
    assert path(name).exists(), f"no golden file for {name}: run python -m tests.golden.regenerate"
    expected = json.loads(path(name).read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(golden(name), sort_keys=True))
    assert actual["events"] == expected["events"], "events differ (python -m tests.golden.regenerate to accept)"
    assert actual["milestones"] == expected["milestones"]
    assert actual["node_states"] == expected["node_states"]
    for metric, values in expected["metrics"].items():
        got = actual["metrics"][metric]
        for i, (a, b) in enumerate(zip(got, values)):
            if a is None or b is None:
                assert a == b, f"{metric} at {expected['t_s'][i]} s: {a} != {b}"
            else:
                assert a == pytest.approx(b, rel=1e-6, abs=1e-6), f"{metric} at {expected['t_s'][i]} s"
