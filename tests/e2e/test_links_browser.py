"""Shareable links in a real browser: configure the Lab → copy the link → open it in a fresh browser
context → identical settings and identical results. Also: a tampered link shows a notice (never a
traceback), Compare shows the retry storm's two endings, and an experiment runs with its chart.

Uses the session's `browser` and `app_url` fixtures from conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.e2e.browser_helpers import Watch, start_streamlit, stop

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Streamlit's front end probes <page>/_stcore/health and host-config on a deep link before falling
# back to the root: those two 404s are Streamlit's own, not the app's.
_PROBE = re.compile(r"Failed to load resource: the server responded with a status of 404")


def app_errors(watch: Watch) -> list[str]:
    return [e for e in watch.errors if not _PROBE.search(e)]


@pytest.fixture(scope="module")
def warm(app_url, browser):
    """Open the root page once so the server leaves Streamlit's legacy pages/ mode (see the xfail
    test below for what happens without it)."""
    page = browser.new_page()
    page.goto(app_url)
    page.wait_for_selector(IDLE, timeout=90_000)
    page.close()
    return app_url


def settle(page, timeout: int = 90_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def wait_param(page, key: str, value: str) -> None:
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(window.location.search).get(k) === v", arg=[key, value], timeout=60_000)
    settle(page)


def set_number(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")


def lab_state(page) -> dict[str, str]:
    """What a visitor sees: the outcome table, the summary's first lines and a few inputs."""
    table = page.locator('[data-testid="stTable"]').first.inner_text()
    return {"table": table, "url": page.url}


def test_lab_link_round_trips_in_a_fresh_context(browser, warm, artifacts):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=warm.rstrip("/"))
    page = ctx.new_page()
    watch = Watch(page)
    page.goto(warm + "lab")
    settle(page)
    page.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    # configure: traffic 1.2×, one retry with breakers on, a new random seed
    page.get_by_role("tab", name="Traffic").click()
    set_number(page, "Traffic (× normal)", "1.2")
    wait_param(page, "load", "1.2")
    page.get_by_role("tab", name="Resilience").click()
    set_number(page, "Max retries", "1")
    wait_param(page, "max_retries", "1")
    page.locator("label").get_by_text("Circuit breakers", exact=True).click()   # the setting, not the operator switch
    wait_param(page, "circuit_breaker", "on")
    page.get_by_role("tab", name="Seed and run length").click()
    old_seed = params(page.url)["seed"]
    page.get_by_role("button", name="New seed").click()
    page.wait_for_function("(s) => new URLSearchParams(location.search).get('seed') !== s", arg=old_seed)
    settle(page)
    # copy the link with the page's own button
    page.get_by_role("button", name="Copy link to these settings").click()
    page.get_by_text("Link copied.").wait_for(timeout=10_000)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.url
    before = lab_state(page)
    page.screenshot(path=str(artifacts / "links-lab-configured.png"))

    fresh = browser.new_context(viewport={"width": 390, "height": 1400})  # a different visitor, phone width
    other = fresh.new_page()
    other_watch = Watch(other)
    other.goto(copied)
    settle(other)
    other.wait_for_selector('[data-testid="stTable"]', timeout=60_000)
    after = lab_state(other)
    assert params(after["url"]) == params(copied)       # every setting restored, nothing rewritten
    assert after["table"] == before["table"]             # identical results
    other.get_by_role("tab", name="Traffic").click()
    assert other.get_by_label("Traffic (× normal)", exact=True).input_value() == "1.20"
    assert not other.locator('[data-testid="stAlert"]').count()  # no notice: the link was valid
    other.screenshot(path=str(artifacts / "links-lab-restored-narrow.png"))
    assert not app_errors(watch) and not app_errors(other_watch), (watch.errors, other_watch.errors)
    local = (warm.rstrip("/"), "data:", "blob:")
    assert all(u.startswith(local) for u in watch.urls + other_watch.urls)  # nothing leaves the machine
    fresh.close()
    ctx.close()


def test_tampered_link_opens_nearest_valid_settings_with_a_notice(browser, warm, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    page.goto(warm + "lab?preset=nope&load=99&max_retries=2.5&generator=sometimes&seed=-1&x=%5Bhi%5D(http://e.com)")
    settle(page)
    alert = page.locator('[data-testid="stAlert"]').first
    alert.wait_for(timeout=60_000)
    text = alert.inner_text()
    for word in ("nope", "load=99", "whole number", "sometimes", "seed=-1", "ignored unknown setting"):
        assert word in text, word
    assert not alert.locator("a").count()  # text from the link never becomes a live link
    assert not page.locator('[data-testid="stException"]').count()
    got = params(page.url)
    assert (got["preset"], got["load"], got["max_retries"], got["generator"], got["seed"]) == \
        ("as_reported", "3", "2", "fails", "0")  # 2.5 rounds to the even neighbour
    page.screenshot(path=str(artifacts / "links-lab-tampered.png"))
    page.close()


def test_compare_shows_does_not_recover_vs_recovers(browser, warm, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 2400})
    page.goto(warm + "compare")
    settle(page)
    page.get_by_text("A does not recover").wait_for(timeout=60_000)
    page.get_by_text("B recovers").wait_for(timeout=10_000)
    page.locator('[data-testid="stVegaLiteChart"]').nth(7).wait_for(timeout=60_000)  # 4 charts × A and B
    settle(page)
    page.screenshot(path=str(artifacts / "links-compare.png"), full_page=True)
    page.close()


def test_experiment_runs_with_a_chart(browser, warm, artifacts):
    page = browser.new_page(viewport={"width": 1280, "height": 2000})
    page.goto(warm + "experiment?knob=max_retries&lo=0&hi=5&points=6&seeds=2")
    settle(page)
    page.get_by_role("button", name="Run experiment").click()
    page.get_by_text("Tipping point:", exact=True).wait_for(timeout=120_000)
    settle(page)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 1
    page.screenshot(path=str(artifacts / "links-experiment.png"))
    page.close()


def test_deep_link_on_a_cold_server_uses_the_router(browser, tmp_path):
    proc, url = start_streamlit(Path(__file__).resolve().parents[2] / "app.py", tmp_path)
    try:
        page = browser.new_page()
        page.goto(url + "lab?retry_policy=backoff")
        settle(page)
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Explainer" in nav and "Lab" in nav
        page.close()
    finally:
        stop(proc)


def test_charts_export_as_svg_and_png_in_the_browser(browser, warm, artifacts, tmp_path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(warm + "lab?preset=retry_storm")
    settle(page)
    svg_button = page.get_by_role("button", name="Download Login success as SVG")
    svg_button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as got:
        svg_button.click()
    svg = Path(got.value.path()).read_text(encoding="utf-8")
    assert got.value.suggested_filename == "lights-out-retry_storm-login.svg"
    assert svg.lstrip().startswith("<svg") and "Login success" in svg
    with page.expect_download(timeout=60_000) as got:
        page.get_by_role("button", name="Download View counters: displayed vs true as PNG").click()
    png = Path(got.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    (artifacts / "links-export-login.svg").write_text(svg, encoding="utf-8")
    ctx.close()
