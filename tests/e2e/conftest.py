"""Browser-test fixtures: one `streamlit run` and one chromium per session.

Skipped when chromium or Playwright is missing on a developer machine; a failure when the CI
environment variable is set (CI must run them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.browser_helpers import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, chromium_missing, isolated_env,
                                       open_player, start_streamlit, stop)


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def app_url(home):
    proc, url = start_streamlit(ROOT / "app.py", home)
    yield url
    stop(proc)


@pytest.fixture(scope="session")
def browser(home):
    why = chromium_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=isolated_env(home))
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def player_page(browser, app_url):
    page, watch = open_player(browser, app_url)
    yield page, watch
    page.close()
