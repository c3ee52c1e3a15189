"""The Architecture page in a real browser: every example uploads and draws; a hostile file's labels
and name render as text (no dialog, no console error, no request off the machine); an invalid upload
shows its error and keeps the previous architecture; the blast radius lists exactly the features an
independent networkx computation finds."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import networkx as nx
import pytest

from sim.architecture import ARCH_DIR, load_architecture
from tests.e2e.browser_helpers import Watch

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
_PROBE = re.compile(r"Failed to load resource: the server responded with a status of 404")
EXAMPLES = ["social_video", "three_tier", "service_chain", "two_sites", "queue_worker"]
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "{{7*7}}"]


def settle(page, timeout: int = 90_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(400)
    page.wait_for_selector(IDLE, timeout=timeout)


@pytest.fixture
def arch_page(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    watch = Watch(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    settle(page)
    page.goto(app_url.rstrip("/") + "/architecture")
    settle(page)
    page.get_by_text("Your own system").first.wait_for(timeout=60_000)
    yield page, watch, dialogs
    page.close()


def upload(page, name: str, text: str) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": name, "mimeType": "application/toml", "buffer": text.encode("utf-8")}])
    page.wait_for_timeout(300)
    settle(page)


def status(page) -> str:
    return page.locator('[data-testid="stAlert"]').first.inner_text()


def graph_drawn(page) -> None:
    frame = page.frame_locator('iframe[title="Architecture graph"]')
    frame.locator("#graph canvas").wait_for(timeout=30_000)


def predicted_labels(page) -> set[str]:
    block = page.locator('[data-testid="stMarkdownContainer"]', has=page.locator("li"))
    items = [t for b in block.all() for t in b.locator("li").all_inner_texts()]
    return {t.split(": ", 1)[0].strip() for t in items if ": " in t}


def independent(g: nx.DiGraph, node: str) -> set[str]:
    out = set()
    for f, d in g.nodes(data=True):
        if d["kind"] != "feature":
            continue
        used = nx.DiGraph((u, v) for u, v, e in g.edges(data=True)
                          if not (e["kind"] == "call" and e.get("features") and f not in e["features"]))
        if f in used and node in used and nx.has_path(used, f, node):
            out.add(g.nodes[f]["label"])
    return out


def off_machine(watch: Watch, app_url: str) -> list[str]:
    host = urlsplit(app_url).hostname
    return [u for u in watch.urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in (host, "localhost", "127.0.0.1")]


def choose(page, label: str, typed: str) -> None:
    """Pick an option of a select box by typing part of it, as a keyboard user would."""
    page.get_by_label(label, exact=True).click()
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    settle(page)


def test_each_example_uploads_and_draws_and_the_blast_radius_matches_networkx(arch_page, app_url):
    page, watch, dialogs = arch_page
    for name in EXAMPLES:
        text = (ARCH_DIR / f"{name}.toml").read_text()
        upload(page, f"{name}.toml", text)
        g = load_architecture(ARCH_DIR / f"{name}.toml")
        assert "In use on every page" in status(page) and g.graph["name"] in status(page), status(page)
        graph_drawn(page)
    # the blast radius on the richest example, for an infrastructure node many features need
    upload(page, "social_video.toml", (ARCH_DIR / "social_video.toml").read_text())
    g = load_architecture(ARCH_DIR / "social_video.toml")
    node = next(n for n, d in g.nodes(data=True) if d["kind"] == "infrastructure")
    box = page.get_by_label("Node", exact=True)
    box.click()
    page.keyboard.type(f"({node},")
    page.keyboard.press("Enter")
    settle(page)
    assert predicted_labels(page) == independent(g, node) and len(independent(g, node)) >= 3
    page.get_by_role("button", name="Run it").click()
    page.get_by_text("What the run shows").wait_for(timeout=90_000)
    assert not dialogs
    assert not [e for e in watch.errors if not _PROBE.search(e)]
    assert not off_machine(watch, app_url)


def test_hostile_file_renders_as_text_and_an_invalid_upload_keeps_the_previous(arch_page, app_url):
    page, watch, dialogs = arch_page
    text = (ARCH_DIR / "three_tier.toml").read_text()
    upload(page, "three_tier.toml", text)
    hostile = text
    for old, new in zip(['"Browse products"', '"Check out"', '"Database"'], HOSTILE):
        hostile = hostile.replace(f"label = {old}", "label = '" + new + "'")
    hostile = hostile.replace('name = "Three-tier web app"', "name = '<b>{{7*7}}</b>'")
    upload(page, "<img src=x onerror=alert(1)>.toml", hostile)
    assert "In use on every page" in status(page), status(page)
    graph_drawn(page)
    # the blast radius of the database names both hostile features, as text
    choose(page, "Node", "(database,")
    body = page.locator("body").inner_text()
    for label in HOSTILE[:2]:
        assert label in body, label
    assert "<b>{{7*7}}</b>" in body and "49" not in status(page)
    assert page.locator("img[src='x']").count() == 0
    frame = page.frame_locator('iframe[title="Architecture graph"]')
    assert frame.locator("img[src='x']").count() == 0 and frame.locator("b").count() == 0
    # an invalid upload: its error, and the previous (hostile but valid) architecture stays in use
    upload(page, "broken.toml", hostile.replace('kind = "datastore"', 'kind = "databse"'))
    err = status(page)
    assert "keeps the last valid architecture" in err and "databse" in err and "line" in err, err
    # the session keeps it on the other pages (navigating within the app, as a visitor does)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Lab").click()
    page.wait_for_url(re.compile(r"/lab"), timeout=60_000)
    settle(page)
    page.locator(".lo-player[data-drawn='1']").wait_for(timeout=60_000)
    assert "Simulating <b>{{7*7}}</b>" in page.locator('[data-testid="stSidebar"]').inner_text()
    labels = page.evaluate("() => [...document.querySelectorAll('.lo-player')].map(e => e.innerText).join(' ')")
    assert page.locator("img[src='x']").count() == 0, labels
    assert not dialogs
    assert not [e for e in watch.errors if not _PROBE.search(e)], watch.errors
    assert not off_machine(watch, app_url)


def independent_hall(g: nx.DiGraph, hall: str) -> set[str]:
    """Features whose requests reach a node with servers in the hall (networkx, not sim.blast, and
    not through the power edges sim.blast follows to the hall's PDU)."""
    racks = {n for n, d in g.nodes(data=True) if hall in (d.get("halls") or ())}
    out = set()
    for f, d in g.nodes(data=True):
        if d["kind"] != "feature":
            continue
        used = nx.DiGraph((u, v) for u, v, e in g.edges(data=True) if e["kind"] != "power"
                          and not (e["kind"] == "call" and e.get("features") and f not in e["features"]))
        if f in used and nx.descendants(used, f) & racks:
            out.add(d["label"])
    return out


def test_validation_as_you_type_keeps_the_last_valid_architecture(arch_page, app_url):
    page, watch, dialogs = arch_page
    text = (ARCH_DIR / "three_tier.toml").read_text()
    upload(page, "three_tier.toml", text)
    box = page.get_by_label("Architecture (TOML)", exact=True)
    assert box.evaluate("e => e.tagName") == "TEXTAREA" and box.input_value() == text
    box.click()
    page.keyboard.press("Control+End")
    page.keyboard.type('\n[[node]]\nid = "x y"\nkind = "service"\n', delay=15)
    state = page.locator(".lo-arch-editor-status")
    assert state.get_attribute("data-state") == "checking" and "checking" in state.inner_text()
    # no Ctrl+Enter, no click outside: the pause alone validates
    page.locator('[data-testid="stAlert"]', has_text="x y").wait_for(timeout=30_000)
    settle(page)
    err = status(page)
    line = text.count("\n") + 3                      # the new node's id line
    assert "keeps the last valid architecture" in err and f"line {line}:" in err and "letters, digits" in err, err
    assert state.get_attribute("data-state") == "invalid"
    assert box.evaluate("e => e === document.activeElement")          # typing never lost the focus
    # Tab leaves the editor (no keyboard trap); the text typed so far is intact
    page.keyboard.press("Tab")
    assert not box.evaluate("e => e === document.activeElement")
    assert box.input_value().endswith('id = "x y"\nkind = "service"\n')
    # fix it: the graph and the session's architecture follow
    box.fill(text.replace('label = "Database"', "label = '<i>Orders</i> DB'"))
    page.locator('[data-testid="stAlert"]', has_text="In use on every page").wait_for(timeout=30_000)
    settle(page)
    assert state.get_attribute("data-state") == "valid"
    page.get_by_text("Every node as text").click()
    page.get_by_text("<i>Orders</i> DB").first.wait_for(timeout=30_000)
    assert page.locator("i", has_text="Orders").count() == 0
    assert not dialogs
    assert not [e for e in watch.errors if not _PROBE.search(e)], watch.errors
    assert not off_machine(watch, app_url)


def test_a_hall_s_blast_radius_matches_networkx_and_runs(arch_page, app_url):
    page, watch, dialogs = arch_page
    upload(page, "social_video.toml", (ARCH_DIR / "social_video.toml").read_text())
    g = load_architecture(ARCH_DIR / "social_video.toml")
    page.get_by_role("radiogroup", name="What fails").get_by_text("A hall").click()
    settle(page)
    choose(page, "Hall", "(B,")
    expect = independent_hall(g, "B")
    assert expect and predicted_labels(page) == expect
    graph_drawn(page)
    page.get_by_role("button", name="Run it").click()
    page.get_by_text("What the run shows").wait_for(timeout=90_000)
    settle(page)
    assert "Hall B loses power" in page.locator("body").inner_text()
    assert not dialogs
    assert not [e for e in watch.errors if not _PROBE.search(e)], watch.errors
    assert not off_machine(watch, app_url)


def test_a_500_node_architecture_steps_compiled_in_the_explainer(arch_page, app_url, home):
    """A large architecture (sim.compiled.wanted) from the Architecture page plays in the Explainer:
    the worker readies the compiled step for its first run (never against the run's budget), the
    switch's run arrives, and the cascade shows on the 500 nodes."""
    from benchmarks.generate import generate_text  # noqa: PLC0415
    from sim import parse_architecture  # noqa: PLC0415
    from tests.e2e.browser_helpers import streamlit_log  # noqa: PLC0415
    from viz.layout import layered_layout  # noqa: PLC0415

    page, watch, dialogs = arch_page
    upload(page, "generated-500.toml", generate_text(500))
    assert "generated 500 nodes" in page.locator("body").inner_text()
    page.locator('[data-testid="stSidebarNav"] a', has_text="Explainer").click()
    page.wait_for_selector(".lo-player[data-drawn='1']", timeout=90_000)
    page.wait_for_function("window.player && window.player.charts() > 0", timeout=90_000)
    assert len(page.evaluate("player.states()")) >= 500
    # Group columns and back: one box a column of two or more, then every node where it was
    g = parse_architecture(generate_text(500))
    columns = Counter(x for x, _ in layered_layout(g).values())
    some = [n for n in g if g.nodes[n]["kind"] == "feature"][:1] + ["s1k", "d10"]
    before = {n: page.evaluate("(n) => player.nodePosition(n)", n) for n in some}
    page.evaluate("player.group(true)")
    assert page.evaluate("player.groups()") == sum(c > 1 for c in columns.values())
    page.evaluate("player.group(false)")
    assert page.evaluate("player.groups()") == 0
    after = {n: page.evaluate("(n) => player.nodePosition(n)", n) for n in some}
    assert all(abs(before[n]["x"] - after[n]["x"]) < 1 and abs(before[n]["y"] - after[n]["y"]) < 1 for n in some), (before, after)
    version = page.evaluate("player.version()")
    page.get_by_role("switch", name="Data center power").click()
    page.wait_for_function(f"player.version() > {version}", timeout=60_000)
    page.evaluate("player.seek(player.time() + 900)")
    states = page.evaluate("player.states()")
    assert sum(s != "up" for s in states.values()) > 50, states     # the cut reaches the services
    assert not dialogs
    assert not [e for e in watch.errors if not _PROBE.search(e)], watch.errors
    assert not off_machine(watch, app_url)
    log = streamlit_log(home, app_url).read_text()
    assert "step in numpy" not in log and "Traceback" not in log


def graph_frame(page):
    """The Architecture graph's frame, once its script has run (window.archGraph)."""
    page.frame_locator('iframe[title="Architecture graph"]').locator("#graph canvas").wait_for(timeout=30_000)
    frame = page.locator('iframe[title="Architecture graph"]').element_handle().content_frame()
    frame.wait_for_function("typeof window.archGraph === 'object'", timeout=30_000)
    return frame


def in_view(frame, node: str) -> bool:
    return frame.evaluate("""(id) => { const n = archGraph.network, p = n.canvasToDOM(n.getPosition(id));
        const c = document.querySelector('#graph canvas');
        return p.x >= 0 && p.y >= 0 && p.x <= c.clientWidth && p.y <= c.clientHeight; }""", node)


def test_a_500_node_graph_opens_grouped_finds_a_node_and_shows_the_chosen_one(arch_page, app_url):
    """Issue 15: the graph stays usable at 500 nodes. Fitted whole it was a sliver, and a node picked
    for its blast radius could not be seen: it opens with each column collapsed, finds a node by
    name, and zooms to a chosen node at a readable scale."""
    from benchmarks.generate import generate_text  # noqa: PLC0415
    from sim import parse_architecture  # noqa: PLC0415
    from viz.layout import layered_layout  # noqa: PLC0415

    page, watch, dialogs = arch_page
    text = generate_text(500)
    upload(page, "generated-500.toml", text)
    frame = graph_frame(page)
    xy = layered_layout(parse_architecture(text))
    columns = {x for x, _ in xy.values()}
    assert frame.evaluate("archGraph.grouped()")
    assert frame.evaluate("archGraph.network.body.nodeIndices.length") == len(columns)   # one box a column
    assert frame.get_by_role("button", name="Group columns").get_attribute("aria-pressed") == "true"

    frame.get_by_label("Find a node", exact=True).fill("s1k")
    frame.get_by_label("Find a node", exact=True).press("Enter")
    assert frame.locator("#find-result").inner_text().startswith("s1k — service (s1k)")
    assert not frame.evaluate("archGraph.grouped()") and frame.evaluate("archGraph.network.getSelectedNodes()") == ["s1k"]
    assert in_view(frame, "s1k") and frame.evaluate("archGraph.network.getScale()") >= 0.9
    drawn = frame.evaluate("archGraph.network.getPositions()")       # ungrouped: every node back in its place
    assert {n: (round(p["x"]), round(p["y"])) for n, p in drawn.items()} == {n: (round(x), round(y)) for n, (x, y) in xy.items()}
    frame.get_by_label("Find a node", exact=True).fill("no such node")
    frame.get_by_role("button", name="Find").click()
    assert frame.locator("#find-result").inner_text() == "No node called “no such node”."

    choose(page, "Node", "s1k")
    frame = graph_frame(page)
    assert frame.locator("#find-result").inner_text().startswith("Showing what was chosen")
    assert in_view(frame, "s1k") and frame.evaluate("archGraph.network.getScale()") >= 0.5

    # On a phone the boxes stand in one column, what users do at the top (every column a box)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    shown = frame.evaluate("""() => { archGraph.setGrouped(false); archGraph.setGrouped(true);
        const n = archGraph.network; return n.getPositions(n.body.nodeIndices); }""")
    assert len(shown) == len(columns) and {round(p["x"]) for p in shown.values()} == {0}
    top = min(shown, key=lambda k: shown[k]["y"])
    features = sum(d["kind"] == "feature" for _, d in parse_architecture(text).nodes(data=True))
    assert frame.evaluate("(id) => archGraph.network.body.nodes[id].options.label", top).startswith(f"{features} features")
    assert not dialogs
    assert not [e for e in watch.errors if not _PROBE.search(e)], watch.errors
    assert not off_machine(watch, app_url)
