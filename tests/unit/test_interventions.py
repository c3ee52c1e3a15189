"""Interventions: one list, one kind of object — each kind's effect, its forms (CLI, TOML, link) and
the one-line errors for bad ones."""

from __future__ import annotations

import math

import pytest

from sim import PRESETS, Scenario, load_architecture, run
from sim.__main__ import main, scenario_from_args, scenario_toml, build_parser
from sim.architecture import ARCH_DIR
from sim.interventions import Intervention, InterventionError, parse, parted_at, power_flips
from sim.links import from_params, to_params


def same_before(a, b, t_s: float) -> None:
    """Two runs agree on every step, event and milestone before t_s."""
    n = sum(1 for t in a.t_s if t < t_s)
    for name in a.metrics:
        assert a.metrics[name][:n] == b.metrics[name][:n], name
    assert a.node_states[:n] == b.node_states[:n]
    assert [e for e in a.events if e.t_s < t_s] == [e for e in b.events if e.t_s < t_s]

CALM = Scenario(actions=(), duration_min=40.0)   # nothing scheduled: every change below is the action's
ACTIONS = {
    "power": "power start_min=10 end_min=12",
    "capacity_loss": "capacity_loss node=auth fraction=0.8 start_min=10 end_min=20",
    "node_stop": "node_stop node=user_cache start_min=10 end_min=15",
    "latency": "latency call=api_gateway>auth added_ms=1500 start_min=10 end_min=20",
    "load_surge": "load_surge factor=3 start_min=10 end_min=20",
    "shed_load": "shed_load start_min=10 end_min=20",
}


def _with(text: str, base: Scenario = CALM) -> Scenario:
    return base.replace(actions=(parse(text),))


@pytest.mark.parametrize("kind", list(ACTIONS))
def test_each_kind_changes_the_run_from_its_start_only_and_is_marked(kind):
    tl, calm = run(_with(ACTIONS[kind])), run(CALM)
    same_before(tl, calm, 10 * 60)                      # identical before the action starts
    if kind != "shed_load":                             # shedding changes nothing where nothing overloads
        assert tl.metrics != calm.metrics or tl.events != calm.events
    if kind != "power":                                 # power shows as "Power cut" / "Power restored"
        marks = [ms for ms in tl.milestones if ms.action]
        assert [ms.t_s for ms in marks][:1] == [600.0] and marks[0].label


def test_capacity_loss_overloads_the_node_and_ends():
    tl = run(_with(ACTIONS["capacity_loss"]), node_metrics=True)
    auth = [n for n, d in tl.graph.nodes(data=True) if d["kind"] != "facility" and d["kind"] != "infrastructure"]
    col = auth.index("auth")
    capacity = [row[2][col] for row in tl.node_rows]
    assert capacity[0] == pytest.approx(2.5) and capacity[tl.index_at(15 * 60)] == pytest.approx(0.5)
    assert tl.metrics["login_success"][tl.index_at(15 * 60)] < 0.5
    assert capacity[tl.index_at(25 * 60)] == pytest.approx(2.5)


def test_node_stop_crashes_then_boots_with_its_boot_time():
    tl = run(_with(ACTIONS["node_stop"]))
    mine = [e for e in tl.events if e.node == "user_cache"]
    assert mine[0].t_s == 600 and mine[0].state != "up"
    assert any(e.state == "recovering" and e.cause.startswith("booting") and e.t_s > 900 for e in mine) or \
        any(e.t_s > 900 + 60 for e in mine)            # it boots (2 min ± jitter) after the end


def test_latency_slows_the_call_then_stops():
    tl = run(_with("latency call=api_gateway>auth added_ms=800 start_min=10 end_min=20"))
    lat = tl.metrics["latency_s_login"]
    assert lat[tl.index_at(15 * 60)] > lat[0] + 0.7
    assert lat[tl.index_at(30 * 60)] == pytest.approx(lat[0], abs=0.05)


def test_load_surge_for_one_feature_or_all():
    one = run(_with("load_surge factor=5 feature=login start_min=10 end_min=20"))
    every = run(_with(ACTIONS["load_surge"]))
    i = one.index_at(15 * 60)
    assert one.metrics["login_success"][i] < 0.9 and one.metrics["feed_success"][i] > 0.99
    assert every.metrics["feed_load_time_s"][i] > one.metrics["feed_load_time_s"][i]


def test_shed_load_on_and_off_is_marked():
    tl = run(_with(ACTIONS["shed_load"]))
    assert [(ms.t_s, ms.label) for ms in tl.milestones if ms.action] == [
        (600.0, "Operators shed load"), (1200.0, "Operators stop shedding load")]


def test_free_play_schedules_nothing_and_presets_show_theirs():
    from sim import FREE_PLAY
    assert FREE_PLAY.actions == ()
    shed = [a for a in PRESETS["as_reported"].scenario.actions if a.kind == "shed_load"]
    assert shed and any(ms.label == "Operators shed load" and ms.action for ms in run(PRESETS["as_reported"].scenario).milestones)


def test_legacy_keys_make_the_same_list():
    old = Scenario(power_cut_min=5, power_restored_min=20, shed_load_min=30)
    assert old.actions == (parse("power start_min=5 end_min=20"), parse("shed_load start_min=30"))
    assert old.power_cut_min == 5 and old.power_restored_min == 20 and old.shed_load_min == 30
    assert Scenario(power_cut_min=5, power_switch=((20, True), (30, False))).utility_flips() == \
        [(300.0, False), (1200.0, True), (1800.0, False), (4500.0, True)]     # the default restore at 75 stays


@pytest.mark.parametrize("kind", list(ACTIONS))
def test_round_trip_cli_toml_link(kind, tmp_path):
    text = ACTIONS[kind]
    args = build_parser().parse_args(["run", "--preset", "retry_storm", "--action", text])
    preset, from_cli = scenario_from_args(args)
    assert parse(text) in from_cli.actions
    path = tmp_path / "s.toml"
    path.write_text(scenario_toml(preset, from_cli))
    _, from_toml = scenario_from_args(build_parser().parse_args(["run", "--scenario", str(path)]))
    assert from_toml == from_cli
    preset_l, from_link, notices = from_params(to_params(preset, from_cli))
    assert (preset_l, from_link, notices) == (preset, from_cli, [])
    assert parse(parse(text).text()) == parse(text)


@pytest.mark.parametrize("action, words", [
    ("warp start_min=3", "unknown action kind 'warp'; kinds: power, capacity_loss"),
    ("capacity_loss node=nope fraction=0.5 start_min=1", "node='nope' is not a node that serves requests"),
    ("capacity_loss node=user_db fraction=1.5 start_min=1", "fraction=1.5 is out of range; allowed: 0 to 1"),
    ("capacity_loss node=user_db start_min=1", "fraction=… is missing"),
    ("power start_min=30 end_min=20", "end_min=20 must be after start_min=30"),
    ("power start_min=5 colour=red", "unknown key 'colour'; keys: start_min, [end_min]"),
    ("latency call=a>b added_ms=5 start_min=1", "call='a>b' is not a call of this architecture"),
    ("latency call=ab added_ms=5 start_min=1", "must be written CALLER>CALLEE"),
    ("load_surge factor=x start_min=1", "factor='x' is not a number"),
    ("load_surge factor=2 feature=auth start_min=1", "feature='auth' is not a feature"),
    ("node_stop node=login start_min=1", "node='login' is not a node that runs servers"),
    ("shed_load start_min=-3", "start_min=-3 is out of range"),
])
def test_bad_actions_are_one_line_and_exit_2(action, words, capsys):
    assert main(["run", "--quiet", "--action", action]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("content, words", [
    ("seed = [1, 2]\n", "must be one text, number or true/false"),
    ("x = " + "[" * 500 + "]" * 500 + "\n", "nested more than"),
    ("[[action]]\nkind = \"warp\"\n", "[[action]] #1: unknown action kind 'warp'"),
    ("[[action]]\nkind = \"power\"\nstart_min = 10\nend_min = 5\n", "end_min=5 must be after start_min=10"),
    ("bogus = 3\n", "unknown setting 'bogus'"),
    ("=", "not valid TOML"),
])
def test_bad_scenario_files_are_one_line_and_exit_2(content, words, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    assert main(["run", "--quiet", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_special_and_huge_files_are_refused(tmp_path, capsys):
    assert main(["run", "--scenario", "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 70_000 + "\n")
    assert main(["run", "--scenario", str(big)]) == 2
    assert "larger than 64 KB" in capsys.readouterr().err
    assert main(["run", "--architecture", "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_where_two_pasts_part():
    a = (parse("power start_min=15 end_min=75"), parse("shed_load start_min=150"))
    assert parted_at(a, a) == math.inf
    assert parted_at(a, (parse("power start_min=15 end_min=40"), a[1])) == 40 * 60
    assert parted_at(a, a[:1]) == 150 * 60
    assert parted_at(a, a + (parse("latency call=api_gateway>auth added_ms=5 start_min=20"),)) == 20 * 60
    assert power_flips((parse("power start_min=5 end_min=10"), parse("power start_min=10 end_min=20"))) == \
        [(300.0, False), (1200.0, True)]      # back to back: the feed stays off


def test_scenario_shift_moves_every_action():
    s = PRESETS["as_reported"].scenario.shifted(13.0)
    assert [(a.kind, a.start_min, a.end_min) for a in s.actions] == [("power", 2.0, 62.0), ("shed_load", 137.0, None)]


def test_actions_on_another_architecture():
    g = load_architecture(ARCH_DIR / "three_tier.toml")
    tl = run(Scenario(actions=(parse("capacity_loss node=database fraction=0.9 start_min=5 end_min=10"),),
                      duration_min=20.0, retry_policy="budget"), g)
    assert min(tl.metrics["success_checkout"]) < 0.5 and tl.metrics["success_checkout"][-1] > 0.95
    with pytest.raises(Exception, match="node='user_db' is not a node"):
        run(Scenario(actions=(parse("node_stop node=user_db start_min=1"),)), g)
