"""`python -m sim`: list presets, run a scenario headless, tell its story, export CSVs.

Argument parsing only; everything it prints comes from the library, so a page and the CLI show
the same numbers. Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import narrate
from .architecture import ArchitectureError, default_architecture, load_architecture
from .engine import run
from .files import SCENARIO_MAX_BYTES, FileProblem, parse_toml, read_text
from .interventions import KINDS, KEY_ORDER, InterventionError, from_mapping, parse
from .presets import DEFAULT_PRESET, PRESETS, get_preset
from .scenario import FIELDS, SETTINGS, Scenario, ScenarioError, apply_settings, format_value, to_settings

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]  # one line instead of usage + error
        raise UsageError(f"{message} (see python -m sim {self.prog.split()[-1]} --help)"
                         if self.prog.split()[-1] in ("run", "presets", "challenge") else f"{message} (see python -m sim --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sim", description="Lights Out: simulate a data-center power cut "
                "cascading through a social video app.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("presets", help="list presets with a one-line description each")
    r = sub.add_parser("run", help="run a scenario and tell its story",
                       description="Run a scenario: prints the story step by step and a summary of "
                       "the symptoms; optionally writes metrics and events as CSV.")
    r.add_argument("--preset", default=DEFAULT_PRESET, help=f"one of: {', '.join(PRESETS)} (default {DEFAULT_PRESET})")
    r.add_argument("--architecture", metavar="FILE", help="an architecture TOML file (default: the built-in app)")
    r.add_argument("--scenario", metavar="FILE", help="a scenario TOML file (preset = ..., KEY = VALUE settings)")
    r.add_argument("--seed", type=int, help="random seed (default 1)")
    r.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="change one setting; repeat to change several. Keys: " + ", ".join(SETTINGS))
    r.add_argument("--action", dest="actions", action="append", default=[], metavar="'KIND key=value …'",
                   help="add a timed change (repeatable), e.g. 'capacity_loss node=user_db fraction=0.8 "
                   "start_min=20 end_min=21'. Kinds: " + "; ".join(f"{k.name} ({k.what})" for k in KINDS.values()))
    r.add_argument("--metrics-csv", metavar="PATH", help="write metrics per step (t_s + one column per metric)")
    r.add_argument("--events-csv", metavar="PATH", help="write events (t_s,node,state,cause)")
    r.add_argument("--node-metrics-csv", metavar="PATH",
                   help="write one row per step and node: t_s,node,state,offered,goodput,capacity,utilisation,"
                   "latency_s (rates as multiples of the node's normal load)")
    r.add_argument("--save-scenario", metavar="PATH", help="write the effective scenario as a TOML file")
    r.add_argument("--quiet", action="store_true", help="print only the summary")
    c = sub.add_parser("challenge", help="score a plan for the 'Bring it back' challenge",
                       description="The Explainer's challenge: power back at 1:15, the app stuck. Scores a plan "
                       "(operator actions from 1:15) in minutes of user harm per feature and events lost, "
                       "against doing nothing, and (--search) the best plan the model finds.")
    c.add_argument("--action", dest="actions", action="append", default=[], metavar="'KIND key=value …'",
                   help="an operator action of the plan (repeatable), e.g. 'shed_load start_min=80'")
    c.add_argument("--search", action="store_true", help="also search for the best plan (about half a minute)")
    return p


def cmd_challenge(args: argparse.Namespace) -> None:
    from . import challenge  # noqa: PLC0415

    plan = tuple(parse(text) for text in args.actions)
    for a in plan:
        if a.start_min < challenge.START_MIN:
            raise UsageError(f"--action {a.text()!r}: the challenge's actions start at minute {challenge.START_MIN:g}")
    cards = {"Your plan": challenge.card(run(challenge.SCENARIO.replace(actions=challenge.SCENARIO.actions + plan))),
             "Doing nothing": challenge.card(run(challenge.SCENARIO))}
    if args.search:
        found = challenge.search()
        cards[f"Best plan found ({found.tried} plans tried)"] = found.card
    for name, card in cards.items():
        print(f"{name}: {challenge.plan_text(card)}")
        print(f"  minutes of user harm from 1:15: {card.total_min:g} in all; "
              + ", ".join(f"{f} {m:g}" for f, m in card.harm_min.items()))
        print(f"  events lost: {'not readable' if card.events_lost is None else f'{card.events_lost:g}'}")


def scenario_from_args(args: argparse.Namespace) -> tuple[str, Scenario]:
    preset_name = args.preset
    settings: list[tuple[str, str]] = []
    file_actions: list[Any] | None = None
    if args.scenario:
        data = _read_scenario_file(args.scenario)
        if "preset" in data and args.preset == DEFAULT_PRESET:
            preset_name = _text_value(args.scenario, "preset", data.pop("preset"))
        else:
            data.pop("preset", None)
        file_actions = _file_actions(args.scenario, data.pop("action", None))
        settings += [(k, _text_value(args.scenario, k, v)) for k, v in data.items()]
    base = get_preset(preset_name).scenario
    for item in args.settings:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ScenarioError(f"--set {item!r}: write KEY=VALUE, e.g. --set generator=ok")
        settings.append((key.strip(), value))
    if args.seed is not None:
        settings.append(("seed", str(args.seed)))
    if file_actions is not None:          # a file's [[action]] tables are the whole list
        base = base.replace(actions=tuple(file_actions))
    s = apply_settings(base, settings)
    added = []
    for text in args.actions:
        try:
            added.append(parse(text))
        except InterventionError as exc:
            raise ScenarioError(f"--action {text!r}: {exc}") from None
    return preset_name, s.replace(actions=s.actions + tuple(added)) if added else s


def _read_scenario_file(path: str) -> dict:
    try:
        return parse_toml(read_text(path, SCENARIO_MAX_BYTES, "--scenario"), f"--scenario {path}")
    except FileProblem as exc:
        raise UsageError(str(exc)) from None


def _text_value(path: str, key: str, value: object) -> str:
    """A setting's value as the text --set takes: strings, numbers and true/false, nothing else."""
    if key not in SETTINGS and key != "preset":
        raise UsageError(f"--scenario {path}: unknown setting {key!r}; settings: {', '.join(sorted(SETTINGS))}, "
                         f"and [[action]] tables")
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise UsageError(f"--scenario {path}: {key} = {value!r} must be one text, number or true/false "
                     f"(a list or table is not a setting)")


def _file_actions(path: str, tables: Any) -> list[Any] | None:
    if tables is None:
        return None
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UsageError(f"--scenario {path}: write actions as [[action]] tables with kind = \"…\" and their keys")
    out = []
    for i, table in enumerate(tables, 1):
        table = dict(table)
        kind = table.pop("kind", None)
        try:
            out.append(from_mapping(kind, table))
        except InterventionError as exc:
            raise UsageError(f"--scenario {path}: [[action]] #{i}: {exc}") from None
    return out


def scenario_toml(preset: str, s: Scenario) -> str:
    """The scenario as a file `--scenario` reads back: the preset, the settings that differ, and the
    actions as [[action]] tables when they differ from the preset's."""
    lines = ["# Lights Out scenario — run with: python -m sim run --scenario THIS_FILE", f'preset = "{preset}"']
    base = get_preset(preset).scenario
    for key, value in to_settings(s, base).items():
        if key != "actions":
            lines.append(f'{key} = "{value}"')
    if s.actions != base.actions:
        if not s.actions:
            lines.append("action = []    # no timed changes at all")
        for a in s.actions:
            lines += ["", "[[action]]", f'kind = "{a.kind}"']
            lines += [f"{k} = {_toml(v)}" for k, v in a.params().items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{value:g}" if isinstance(value, float) else str(value)


def _write(path: str, text: str, what: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


def cmd_presets() -> None:
    width = max(len(n) for n in PRESETS)
    for name, preset in PRESETS.items():
        print(f"{name:<{width}}  {preset.title} — {preset.summary}")


def cmd_run(args: argparse.Namespace) -> None:
    preset_name, scenario = scenario_from_args(args)
    graph = load_architecture(args.architecture) if args.architecture else default_architecture()
    tl = run(scenario, graph, node_metrics=bool(args.node_metrics_csv))
    if args.node_metrics_csv:
        _write(args.node_metrics_csv, tl.node_metrics_csv(), "the node metrics CSV")
    if args.metrics_csv:
        _write(args.metrics_csv, tl.metrics_csv(), "the metrics CSV")
    if args.events_csv:
        _write(args.events_csv, tl.events_csv(), "the events CSV")
    if args.save_scenario:
        _write(args.save_scenario, scenario_toml(preset_name, scenario), "the scenario")
    preset = PRESETS[preset_name]
    changed = to_settings(scenario, preset.scenario)
    print(f"Scenario: {preset.title}" + (f" with {', '.join(f'{k}={v}' for k, v in changed.items())}" if changed else ""))
    print(f"Architecture: {graph.graph.get('name', 'custom')}; seed {scenario.seed};"
          f" {scenario.duration_min:g} simulated minutes in steps of {scenario.step_s:g} s.")
    if not args.quiet:
        print("\nStep by step:")
        for cap in narrate.captions(tl):
            print(f"  {cap.text}")
    print("\nWhat users saw:")
    for line in narrate.summary(tl):
        print(f"  - {line}")
    for path, what in ((args.metrics_csv, "metrics"), (args.events_csv, "events"),
                       (args.node_metrics_csv, "node metrics"), (args.save_scenario, "scenario")):
        if path:
            print(f"Wrote {what} to {path}")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "presets":
            cmd_presets()
        elif args.command == "challenge":
            cmd_challenge(args)
        else:
            cmd_run(args)
    except (UsageError, ScenarioError, ArchitectureError, InterventionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "scenario_toml", "format_value", "FIELDS", "KEY_ORDER"]
