"""The Architecture page (AppTest): examples, live validation that never replaces the last valid
architecture, the chosen architecture used by the other pages, links, blast radius, hostile labels."""

from __future__ import annotations

import pytest

from sim.architecture import ARCH_DIR
from sim.links import architecture_to_param
import json
from ui import architecture

PAGE = "app_pages/architecture.py"
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "{{7*7}}"]


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


def _open(app):
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def _chosen(app):
    return app.session_state[architecture.KEY] if architecture.KEY in app.session_state else None


def test_an_example_is_used_by_the_lab_and_an_invalid_edit_keeps_it(app):
    at = _open(app)
    assert "built-in" in at.success[0].value
    at.selectbox(key="arch.example").select("two_sites").run()
    assert not at.exception and "Two sites" in at.success[0].value
    chosen = _chosen(at)
    assert chosen is not None and chosen.source == "two_sites.toml"
    at.text_area(key="arch.editor").input(chosen.text.replace('kind = "datastore"', 'kind = "databse"', 1)).run()
    assert not at.exception and not at.success
    msg = at.error[0].value
    assert "keeps the last valid architecture" in msg and "databse" in msg and "line" in msg
    assert _chosen(at) == chosen                                   # not replaced
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
    at.text_area(key="arch.editor").input(hostile_text()).run()
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
    at.text_area(key="arch.editor").input(text).run()
    assert not at.exception and at.success
    info = " ".join(m.value for m in at.info)
    assert "too large for a link" in info and "at most 6,000" in info
    assert not any("arch=" in c.value for c in at.code)
