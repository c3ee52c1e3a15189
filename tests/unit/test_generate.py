"""The benchmarks' 2,000-node architectures are ordinary files: within the size limit, loaded by
`sim.load_architecture` like a user's file (issue 15: 2,000 nodes and 256 KB both hold)."""

import pytest

from benchmarks.generate import compact, dense_text, generate_text
from sim import load_architecture, parse_architecture
from sim.architecture import MAX_NODES
from sim.files import ARCHITECTURE_MAX_BYTES


@pytest.mark.parametrize("make", [generate_text, dense_text])
def test_a_2000_node_file_fits_the_limit_and_loads(make, tmp_path):
    path = tmp_path / "large.toml"
    path.write_text(make(MAX_NODES), encoding="utf-8")
    assert path.stat().st_size <= ARCHITECTURE_MAX_BYTES
    g = load_architecture(path)
    assert g.number_of_nodes() == MAX_NODES


def test_the_compact_form_omits_defaults_and_shortens_ids():
    text = compact("t", [{"id": "feature_0", "kind": "feature", "demand": 5},
                         {"id": "service_1_0", "kind": "service", "halls": ["A"], "capacity": 2.5}],
                   [("feature_0", "service_1_0", {"retry": False, "cache_miss": False})])
    assert '{id="s0",kind="service",halls=["A"]}' in text and '{from="f0",to="s0"}' in text
    g = parse_architecture(text)
    assert g.nodes["s0"]["capacity"] == 2.5 and g.edges["f0", "s0"]["kind"] == "call"


def test_the_command_line_writes_a_file_the_app_loads_and_refuses_impossible_sizes(tmp_path, capsys):
    from benchmarks.generate import main
    out = tmp_path / "dense.toml"
    assert main(["--nodes", "300", "--dense", "-o", str(out)]) == 0
    assert load_architecture(out).number_of_nodes() == 300
    assert main(["--nodes", "60"]) == 0
    assert parse_architecture(capsys.readouterr().out).number_of_nodes() == 60
    with pytest.raises(SystemExit) as stop:
        main(["--nodes", str(MAX_NODES + 1)])
    assert stop.value.code == 2 and "at most 2,000 nodes" in capsys.readouterr().err
