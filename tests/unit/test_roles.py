"""Roles, not ids: nothing outside an architecture file names a node of the built-in app, so any
architecture gets the same treatment (its features' roles, or per-feature metrics)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sim
from sim.architecture import FEATURE_ROLES, KINDS, ROLES

ROOT = Path(__file__).resolve().parents[2]
CODE = ("sim", "viz", "ui", "app_pages", "classroom")


def _built_in_ids() -> set[str]:
    """Node ids of the built-in app that are not also a role or a kind (the words the code may use)."""
    return set(sim.default_architecture().nodes) - set(FEATURE_ROLES) - set(ROLES) - set(KINDS)


def _strings(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@pytest.mark.parametrize("folder", CODE)
def test_no_code_names_a_node_of_the_built_in_app(folder):
    ids = _built_in_ids()
    found = {str(p.relative_to(ROOT)): sorted(_strings(p) & ids) for p in (ROOT / folder).rglob("*.py")}
    assert not {p: f for p, f in found.items() if f}


def test_the_check_sees_an_id():
    assert "user_db" in _built_in_ids() and "for_you_feed" in _built_in_ids()


def test_each_role_names_one_feature():
    text = (ROOT / "tests" / "unit" / "archs.py").read_text()
    assert "ONE_HALL_FACILITY" in text
    from tests.unit.archs import ONE_HALL_FACILITY
    two = ONE_HALL_FACILITY + """
[[node]]
id = "a"
kind = "feature"
role = "login"
[[node]]
id = "b"
kind = "feature"
role = "login"
"""
    with pytest.raises(sim.ArchitectureError, match="role = 'login' is already taken by node 'a'"):
        sim.parse_architecture(two)
    with pytest.raises(sim.ArchitectureError, match="a feature's role is one of"):
        sim.parse_architecture(two.replace('role = "login"\n[[node]]\nid = "b"', 'role = "sign_in"\n[[node]]\nid = "b"'))


def test_a_foreign_architecture_reports_its_own_features():
    """The bug that opened the engine issue: a login feature whose database goes down reported 100 %."""
    from tests.unit.archs import ONE_HALL_FACILITY
    text = ONE_HALL_FACILITY + """
[[node]]
id = "sign_in"
label = "Sign in"
kind = "feature"
[[node]]
id = "api"
kind = "service"
site = "region"
[[node]]
id = "db"
kind = "datastore"
halls = ["A"]
secondary = false
[[call]]
from = "sign_in"
to = "api"
[[call]]
from = "api"
to = "db"
"""
    tl = sim.run(sim.Scenario(power_cut_min=10, power_restored_min=20, ups_minutes=0, duration_min=40),
                 sim.parse_architecture(text))
    assert min(tl.metrics["success_sign_in"]) == 0.0                  # it fails while the hall is dark
    assert all(v != v for v in tl.metrics["login_success"])           # no login role: blank, never "100 %"
    text_out = "\n".join(sim.summary(tl))
    assert "Sign in failing" in text_out and "Logins failing" not in text_out
    with_role = sim.parse_architecture(text.replace('kind = "feature"', 'kind = "feature"\nrole = "login"'))
    tl2 = sim.run(tl.scenario, with_role)
    assert tl2.metrics["login_success"] == tl2.metrics["success_sign_in"]
