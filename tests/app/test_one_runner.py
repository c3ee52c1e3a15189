"""Every page runs its simulations through the one runner (ui/runner.py): no page imports the engine,
the worker or the views directly, keeps a cache of its own, or starts a run any other way.

Two checks: the pages' source (imports and calls), and each page at work — every Simulation made
while a page renders must have ui/runner.py on its call stack."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim import simulation
from tests.app.apptest_helpers import APP, ROOT

PAGES = sorted((ROOT / "app_pages").glob("*.py"))
FORBIDDEN_MODULES = {"sim.engine", "sim.simulation", "sim.resume", "ui.pool", "viz.runs"}
FORBIDDEN_CALLS = {"sim.run", "run_here", "guard.compute", "sweep", "cache_data", "cache_resource", "Simulation"}


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    imports, calls = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports.add(node.module)
            imports |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                calls.add(f.attr)
                if isinstance(f.value, ast.Name):
                    calls.add(f"{f.value.id}.{f.attr}")
            elif isinstance(f, ast.Name):
                calls.add(f.id)
        elif isinstance(node, ast.Attribute) and node.attr in ("cache_data", "cache_resource"):
            calls.add(node.attr)
    return imports, calls


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_imports_the_engine_or_keeps_a_cache(page: Path):
    imports, calls = _names(ast.parse(page.read_text(encoding="utf-8")))
    assert not imports & FORBIDDEN_MODULES, f"{page.name} imports {imports & FORBIDDEN_MODULES}"
    assert not {i for i in imports if i.startswith("sim.sweep.sweep")}
    assert not calls & FORBIDDEN_CALLS, f"{page.name} calls {calls & FORBIDDEN_CALLS}"


def test_the_checks_can_fail():
    bad = "import streamlit as st\nfrom ui import guard\nst.cache_data(lambda: 1)\nguard.run_here(s)\nimport sim.engine\n"
    imports, calls = _names(ast.parse(bad))
    assert imports & FORBIDDEN_MODULES and {"cache_data", "run_here"} <= calls


@pytest.fixture
def watched(monkeypatch):
    """Record, for every Simulation made, whether ui/runner.py was on the stack."""
    seen: list[bool] = []
    original = simulation.Simulation.__init__

    def init(self, *args, **kwargs):
        seen.append(any(Path(f.filename).as_posix().endswith("ui/runner.py") for f in inspect.stack(0)))
        original(self, *args, **kwargs)

    monkeypatch.setattr(simulation.Simulation, "__init__", init)
    return seen


SIMULATING = ["explainer.py", "lab.py", "compare.py", "story.py", "teacher.py", "experiment.py"]


@pytest.mark.parametrize("name", SIMULATING)
def test_every_run_a_page_starts_goes_through_the_runner(name, watched):
    at = AppTest.from_file(APP, default_timeout=180)
    if name == "experiment.py":
        at.query_params.update({"points": "2", "seeds": "1", "window": "10"})
    at.switch_page(f"app_pages/{name}")
    at.run()
    if name == "experiment.py":
        at.button[0].click().run() if at.button[0].label == "Run experiment" else \
            next(b for b in at.button if b.label == "Run experiment").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert watched, f"{name} ran no simulation"
    assert all(watched), f"{name}: {watched.count(False)} of {len(watched)} runs did not go through ui/runner.py"
