"""AppTest fixtures (helpers live in apptest_helpers.py: conftest modules must not be imported)."""

from __future__ import annotations

import pytest

from tests.app.apptest_helpers import APP


@pytest.fixture
def app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=120)
