"""`python -m sim`: the interface teachers' scripts rely on — names, columns, exit codes."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from sim.__main__ import main
from sim.timeline import METRIC_NAMES

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_COLUMNS = ["t_s", "login_success", "upload_success", "feed_personalization", "feed_repeat_rate",
                    "views_true", "views_displayed", "earnings_true", "earnings_displayed", "feed_load_time_s",
                    "retry_amplification", "backlog_events"]


def test_presets_lists_each_with_a_description(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in out]
    assert names[:5] == ["as_reported", "well_engineered", "retry_storm", "cooling_failure", "counters_done_right"]
    assert all(" — " in line for line in out)


def test_run_writes_csvs_with_the_named_columns(tmp_path, capsys):
    metrics, events = tmp_path / "m.csv", tmp_path / "e.csv"
    code = main(["run", "--set", "duration_min=60", "--set", "power_restored_min=40",
                 "--metrics-csv", str(metrics), "--events-csv", str(events)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Step by step:" in out and "What users saw:" in out and "UPS batteries exhausted" in out
    rows = list(csv.DictReader(metrics.open()))
    assert list(rows[0])[: len(REQUIRED_COLUMNS)] == REQUIRED_COLUMNS
    assert set(METRIC_NAMES) <= set(rows[0])
    assert len(rows) == 60 * 6 + 1 and rows[-1]["t_s"] == "3600"
    ev = list(csv.DictReader(events.open()))
    assert list(ev[0]) == ["t_s", "node", "state", "cause"]
    assert any(r["node"] == "utility" and r["state"] == "down" for r in ev)


def test_settings_accumulate_and_seed_applies(tmp_path, capsys):
    path = tmp_path / "s.toml"
    assert main(["run", "--quiet", "--preset", "retry_storm", "--seed", "7", "--set", "retry_policy=backoff",
                 "--set", "max_retries=2", "--set", "power_restored_min=never", "--save-scenario", str(path)]) == 0
    text = path.read_text()
    assert 'preset = "retry_storm"' in text
    for line in ('seed = "7"', 'retry_policy = "backoff"', 'max_retries = "2"', '[[action]]\nkind = "power"\nstart_min = 15\n'):
        assert line in text
    out = capsys.readouterr().out
    assert "retry_policy=backoff" in out and "seed 7" in out
    # The saved scenario is a file the CLI accepts, and gives the same run.
    m1, m2 = tmp_path / "1.csv", tmp_path / "2.csv"
    main(["run", "--quiet", "--scenario", str(path), "--metrics-csv", str(m1)])
    main(["run", "--quiet", "--preset", "retry_storm", "--seed", "7", "--set", "retry_policy=backoff",
          "--set", "max_retries=2", "--set", "power_restored_min=never", "--metrics-csv", str(m2)])
    assert m1.read_text() == m2.read_text()


@pytest.mark.parametrize("args, words", [
    (["run", "--set", "bogus=1"], "unknown setting 'bogus'"),
    (["run", "--set", "load=abc"], "load='abc' is not a number"),
    (["run", "--set", "load=9"], "out of range"),
    (["run", "--set", "generator=maybe"], "use one of: ok, fails, delayed"),
    (["run", "--set", "cooling_on_generator=perhaps"], "use on or off"),
    (["run", "--set", "generator"], "write KEY=VALUE"),
    (["run", "--preset", "nope"], "unknown preset 'nope'"),
    (["run", "--architecture", "/no/such.toml"], "no such file"),
    (["run", "--seed", "x"], "invalid int value"),
    (["run", "--metrics-csv", "/no/such/dir/m.csv", "--set", "duration_min=5"], "cannot write"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_invalid_architecture_file_is_reported_precisely(tmp_path, capsys):
    bad = tmp_path / "a.toml"
    bad.write_text('[[hall]]\nid = "A"\n[[node]]\nid = "x"\nkind = "sevice"\n')
    assert main(["run", "--architecture", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "node 'x': kind = 'sevice'" in err and "use one of" in err


def test_module_entry_point_runs_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "--set", "load=-1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "load=-1" in proc.stderr


def test_node_metrics_csv_has_a_row_per_step_and_node(tmp_path, capsys):
    path = tmp_path / "nodes.csv"
    assert main(["run", "--quiet", "--set", "duration_min=5", "--node-metrics-csv", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["t_s", "node", "state", "offered", "goodput", "capacity", "utilisation", "latency_s"]
    nodes = {r["node"] for r in rows}
    assert len(rows) == (5 * 6 + 1) * len(nodes)
    first = {r["node"]: r for r in rows if r["t_s"] == "0"}
    assert float(first["auth"]["capacity"]) == pytest.approx(2.5)            # capacity × normal load
    assert float(first["auth"]["offered"]) == pytest.approx(1.0, abs=0.05)   # normal load = 1.0
    assert first["utility"]["offered"] == "" and first["login"]["capacity"] == ""   # not applicable: blank
    assert "Wrote node metrics to" in capsys.readouterr().out


def test_metrics_csv_has_per_feature_columns_for_any_architecture(tmp_path):
    path = tmp_path / "m.csv"
    arch = ROOT / "sim" / "architectures" / "three_tier.toml"
    assert main(["run", "--quiet", "--architecture", str(arch), "--set", "duration_min=5", "--metrics-csv", str(path)]) == 0
    row = next(csv.DictReader(path.open()))
    assert {"success_browse", "latency_s_browse", "success_checkout", "latency_s_checkout"} <= set(row)
    assert row["login_success"] == "" and row["success_browse"] == "1"


def test_challenge_scores_a_plan_as_the_explainer_does(capsys):
    import sim
    import sim.interventions
    from sim import challenge

    assert main(["challenge", "--action", "shed_load start_min=80"]) == 0
    out = capsys.readouterr().out
    card = challenge.card(sim.run(challenge.SCENARIO.replace(
        actions=challenge.SCENARIO.actions + (sim.interventions.parse("shed_load start_min=80"),))))
    assert f"{card.total_min:g} in all" in out and "Doing nothing: no action" in out and "events lost: 0" in out
    assert main(["challenge", "--action", "shed_load start_min=20"]) == 2
    assert "start at minute 75" in capsys.readouterr().err
