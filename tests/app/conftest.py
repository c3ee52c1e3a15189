"""AppTest fixtures (helpers live in apptest_helpers.py: conftest modules must not be imported)."""

from __future__ import annotations

import pytest

from tests.app.apptest_helpers import APP


@pytest.fixture
def app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=120)


@pytest.fixture(autouse=True)
def _simulate_in_process(monkeypatch):
    """AppTest pages simulate in the test's process (tests patch sim.run and watch fault injection);
    the worker process itself is tested in tests/unit/test_pool.py and by every browser test."""
    from ui import pool, runner
    from viz import runs

    monkeypatch.setenv(pool.WORKERS_ENV, "0")
    runner.RESULTS.clear()           # each test starts as a fresh server would
    runs.RUNS.clear()
