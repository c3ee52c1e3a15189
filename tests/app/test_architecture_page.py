"""The Architecture page (AppTest): examples, live validation that never replaces the last valid
architecture, the chosen architecture used by the other pages, links, blast radius, hostile labels."""

from __future__ import annotations

import re

import pytest

from sim.architecture import ARCH_DIR
from sim.links import architecture_to_param
import json
from ui import architecture

PAGE = "app_pages/architecture.py"
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "{{7*7}}"]
UNESCAPED = re.compile(r"(?<!\\)<")        # a "<" Markdown would take for the start of a tag


def hostile_text() -> str:
    """The three-tier example with its features' and database's labels made hostile."""
    text = (ARCH_DIR / "three_tier.toml").read_text()
    for old, new in zip(['"Browse products"', '"Check out"', '"Database"'], HOSTILE):
        text = text.replace(f"label = {old}", "label = '" + new + "'")
    return text


def player_nodes(at) -> set[str]:
    """Node ids in the payload sent to the page's player component."""
    for comp in at.get("bidi_component"):
        raw = comp.proto.json or comp.proto.mixed.json
        data = json.loads(raw) if raw else {}
        if "nodes" in data:
            return {n["id"] for n in data["nodes"]}
    raise AssertionError("no player on the page")


def editor(at):
    """The page's editor component."""
    (comp,) = [c for c in at.get("bidi_component") if c.proto.component_name.endswith("arch_editor")]
    return comp


def editor_data(at) -> dict:
    proto = editor(at).proto
    return json.loads(proto.json or proto.mixed.json)


def type_text(at, text: str):
    """Run the page as the editor does after a pause in typing: the trigger "edit" with the whole
    text, the next edit number and the text's revision (AppTest runs no JavaScript)."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    data = editor_data(at)
    states = at._tree.get_widget_states()
    w = states.widgets.add()
    w.id = _make_trigger_id(editor(at).proto.id, "events")
    w.json_trigger_value = json.dumps([{"event": "edit", "value": {"text": text, "seq": data["ack"] + 1,
                                                                   "rev": data["rev"]}}])
    return at._run(states)


def _open(app):
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def sidebar_text(at) -> str:
    return "\n".join(m.value for m in at.sidebar.markdown)


def _chosen(app):
    return app.session_state[architecture.KEY] if architecture.KEY in app.session_state else None


def test_an_example_is_used_by_the_lab_and_an_invalid_edit_keeps_it(app):
    at = _open(app)
    assert "built-in" in at.success[0].value
    at.selectbox(key="arch.example").select("two_sites").run()
    assert not at.exception and "Two sites" in at.success[0].value
    assert "Simulating **Two sites" in sidebar_text(at)           # in the same run, not one behind
    chosen = _chosen(at)
    assert chosen is not None and chosen.source == "two_sites.toml"
    at = type_text(at, chosen.text.replace('kind = "datastore"', 'kind = "databse"', 1))
    assert not at.exception and not at.success
    msg = at.error[0].value
    assert "keeps the last valid architecture" in msg and "databse" in msg and "line" in msg
    assert _chosen(at) == chosen                                   # not replaced
    assert any("download and the link below hold the last valid" in c.value for c in at.caption)
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception
    assert player_nodes(at) == set(chosen.graph)


def test_a_link_carries_a_small_architecture(app):
    text = (ARCH_DIR / "queue_worker.toml").read_text()
    app.query_params["arch"] = architecture_to_param(text)
    at = _open(app)
    assert "Queue and pull consumer" in at.success[0].value and _chosen(at).text == text
    assert any("arch=" in c.value for c in at.code)


def test_a_broken_link_says_so_and_keeps_the_architecture(app):
    app.query_params["arch"] = "not-a-real-architecture"
    at = _open(app)
    assert "cannot be used" in at.error[0].value and _chosen(at) is None
    # escaped for Markdown, so not inside a code span, where the escapes would show as backslashes
    assert "copied whole?\\)" in at.error[0].value and "`" not in at.error[0].value


def test_blast_radius_prediction_and_run(app):
    at = _open(app)
    at.selectbox(key="arch.example").select("three_tier").run()
    assert at.selectbox(key="arch.node").value == "database"
    text = " ".join(m.value for m in at.markdown)
    assert "Check out" in text and "Browse products" in text
    at.button(key="arch.run").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    rows = {r["Feature"]: r for r in table.to_dict("records")}
    assert rows["Check out"]["What happened"] == "predicted, failed" and rows["Check out"]["Failed at"] == "0:10"
    assert rows["Browse products"]["What happened"] == "predicted, kept working"
    assert any("absorbed" in m.value and "Browse products" in m.value for m in at.markdown)


def test_hostile_labels_stay_text(app):
    at = _open(app)
    at = type_text(at, hostile_text())
    assert not at.exception and at.success, [e.value for e in at.error]
    srcdoc = at.get("iframe")[0].proto.srcdoc
    assert "<img src=x" not in srcdoc and "alert(1)</script>" not in srcdoc
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in srcdoc
    md = " ".join(m.value for m in at.markdown)
    assert "<img" not in md and "</script>" not in md
    at.selectbox(key="arch.node").select("database").run()
    assert "49" not in " ".join(m.value for m in at.markdown if "7" in m.value)


@pytest.mark.parametrize("page", ["explainer.py", "lab.py", "compare.py", "experiment.py", "story.py", "teacher.py"])
def test_every_page_works_on_a_chosen_architecture(app, page):
    at = _open(app)
    at.selectbox(key="arch.example").select("service_chain").run()
    if page == "experiment.py":
        at.query_params.update({"points": "2", "seeds": "1", "window": "10"})
    at.switch_page(f"app_pages/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    if page in ("explainer.py", "lab.py"):
        assert player_nodes(at) == set(_chosen(at).graph)


def test_a_large_architecture_says_it_is_too_large_for_a_link(app):
    import random

    rng = random.Random(0)
    text = (ARCH_DIR / "three_tier.toml").read_text() + "".join(
        f'[[node]]\nid = "s{i}"\nlabel = "{rng.getrandbits(200):x}"\nkind = "service"\nsite = "region"\n'
        for i in range(300))
    at = _open(app)
    at = type_text(at, text)
    assert not at.exception and at.success
    info = " ".join(m.value for m in at.info)
    assert "too large for a link" in info and "at most 6,000" in info
    assert not any("arch=" in c.value for c in at.code)


def test_the_editor_validates_each_edit_and_python_replaces_its_text_only_by_a_new_revision(app):
    at = _open(app)
    first = editor_data(at)
    assert first["verdict"] == "valid" and first["ack"] == 0
    at.selectbox(key="arch.example").select("three_tier").run()
    data = editor_data(at)
    three = (ARCH_DIR / "three_tier.toml").read_text()
    assert data["text"] == three and data["rev"] == first["rev"] + 1      # the editor takes the example
    broken = three.replace('id = "cache"', 'id = "ca che"', 1)
    at = type_text(at, broken)
    data = editor_data(at)
    assert data["ack"] == 1 and data["verdict"] == "invalid" and data["rev"] == first["rev"] + 1
    msg = at.error[0].value
    assert "line" in msg and "ca che" in msg and "letters, digits" in msg          # where, what, what is allowed
    assert _chosen(at).text == three                                            # the last valid one stays
    # an edit made before Python replaced the text (an older revision) is ignored
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    states = at._tree.get_widget_states()
    w = states.widgets.add()
    w.id = _make_trigger_id(editor(at).proto.id, "events")
    w.json_trigger_value = json.dumps([{"event": "edit", "value": {"text": "junk", "seq": 9, "rev": 0}}])
    at = at._run(states)
    assert editor_data(at)["ack"] == 1 and editor_data(at)["text"] == broken
    at = type_text(at, three.replace('label = "Database"', 'label = "Orders DB"'))
    assert not at.error and "Orders DB" in _chosen(at).text and editor_data(at)["verdict"] == "valid"


def _independent_hall(g, hall: str) -> set[str]:
    import networkx as nx

    racks = {n for n, d in g.nodes(data=True) if hall in (d.get("halls") or ())}
    out = set()
    for f, d in g.nodes(data=True):
        if d["kind"] == "feature":
            used = nx.DiGraph((u, v) for u, v, e in g.edges(data=True) if e["kind"] != "power"
                              and not (e["kind"] == "call" and e.get("features") and f not in e["features"]))
            if f in used and nx.descendants(used, f) & racks:
                out.add(d["label"])
    return out


def _predicted(at) -> set[str]:
    import re

    lines = [ln for m in at.markdown for ln in m.value.splitlines() if ln.startswith("- **")]
    return {re.match(r"- \*\*(.+?)\*\*:", ln).group(1).replace("\\", "") for ln in lines}


def test_a_hall_s_blast_radius_and_its_run(app):
    at = _open(app)
    at.radio(key="arch.what").set_value("hall").run()
    assert not at.exception
    g = architecture.graph()
    assert at.selectbox(key="arch.hall").value == "A"
    at.selectbox(key="arch.hall").select("B").run()
    expect = _independent_hall(g, "B")
    assert expect and _predicted(at) == expect
    assert any("also runs in another hall" in m.value for m in at.markdown)
    at.button(key="arch.run").click().run()
    assert not at.exception
    assert any("Hall B loses power" in m.value for m in at.markdown)
    rows = at.dataframe[0].value.to_dict("records")
    assert {r["Feature"] for r in rows} == {d["label"] for _, d in g.nodes(data=True) if d["kind"] == "feature"}
    assert all(r["Failed at"] == "—" or r["Failed at"] >= "0:10" for r in rows)
    # the default clients retry at once: what the hall held does not recover within the run, and the page says why
    stuck = [r["Feature"] for r in rows if r["Failed at"] != "—" and r["Recovered at"] == "not by the end"]
    if stuck:
        assert any("Not recovered by the end" in m.value and "retry storm" in m.value and "0:20" in m.value
                   for m in at.markdown)


def test_an_intervention_s_blast_radius_and_a_bad_one_says_what_is_allowed(app):
    at = _open(app)
    at.selectbox(key="arch.example").select("three_tier").run()
    at.radio(key="arch.what").set_value("action").run()
    assert at.text_input(key="arch.action").value == "node_stop node=database start_min=20 end_min=30"
    assert _predicted(at) == {"Check out", "Browse products"}
    at.text_input(key="arch.action").input("latency call=app>database added_ms=3000 start_min=10 end_min=20").run()
    assert not at.exception and not at.error
    assert _predicted(at) == {"Check out"}
    at.text_input(key="arch.action").input("latency call=app>nowhere added_ms=3000 start_min=10").run()
    assert "not a call of this architecture" in at.error[0].value and not _predicted(at)
    at.text_input(key="arch.action").input("hall_power hall=A start_min=10 end_min=15").run()
    assert _predicted(at) == {"Check out", "Browse products"}
    at.button(key="arch.run").click().run()
    assert not at.exception
    rows = {r["Feature"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert rows["Check out"]["Failed at"] == "0:10" and rows["Check out"]["Predicted"] == "yes"


def page_text(at) -> str:
    """The page's Markdown but the format's reference (ours, with `<id>` in code spans)."""
    from viz.archpage import reference

    head = reference().strip()[:60]
    return " ".join(m.value for m in at.markdown if not m.value.strip().startswith(head))


def test_a_hostile_hall_label_and_intervention_stay_text(app):
    at = _open(app)
    text = hostile_text().replace('label = "Hall A"', "label = '<img src=x onerror=alert(1)> {{7*7}}'", 1)
    assert "<img src=x onerror=alert(1)> {{7*7}}" in text
    at = type_text(at, text)
    assert not at.exception and at.success, [e.value for e in at.error]
    at.radio(key="arch.what").set_value("hall").run()
    md = page_text(at)
    assert not UNESCAPED.search(md) and "\\<img src=x" in md and "49" not in md
    assert "<img src=x onerror=alert(1)> {{7*7}} (A, " in at.selectbox(key="arch.hall").format_func("A")  # a select shows text
    at.radio(key="arch.what").set_value("action").run()
    at.text_input(key="arch.action").input("node_stop node=<script>alert(1)</script> start_min=5").run()
    err = at.error[0].value
    assert "<script>" not in err and "not a node that runs servers" in err
    at.text_input(key="arch.action").input("hall_power hall=A start_min=5 end_min=9").run()
    md = page_text(at)
    assert "No user feature" not in md and not UNESCAPED.search(md)
    at.button(key="arch.run").click().run()
    assert not at.exception
    md = page_text(at)
    assert "What the run shows" in md and not UNESCAPED.search(md)
    assert "\\<img src=x onerror=alert\\(1\\)\\> \\{\\{7\\*7\\}\\} loses power" in md


def test_the_editor_script_parses():
    """JS syntax errors would only show at run time in the browser."""
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    js = Path(__file__).resolve().parents[2] / "assets" / "architecture_page" / "editor.js"
    done = subprocess.run([node, "--check", "--input-type=module"], input=js.read_text(encoding="utf-8"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
