"""`python -m sim`: list presets, run a scenario headless, tell its story, export CSVs.

Argument parsing only; everything it prints comes from the library, so a page and the CLI show
the same numbers. Bad input ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from . import narrate
from .architecture import ArchitectureError, default_architecture, load_architecture
from .engine import run
from .presets import DEFAULT_PRESET, PRESETS, get_preset
from .scenario import FIELDS, Scenario, ScenarioError, apply_settings, format_value, to_settings

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]  # one line instead of usage + error
        raise UsageError(f"{message} (see python -m sim {self.prog.split()[-1]} --help)"
                         if self.prog.split()[-1] in ("run", "presets") else f"{message} (see python -m sim --help)")


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
                   help="change one setting; repeat to change several. Keys: " + ", ".join(FIELDS))
    r.add_argument("--metrics-csv", metavar="PATH", help="write metrics per step (t_s + one column per metric)")
    r.add_argument("--events-csv", metavar="PATH", help="write events (t_s,node,state,cause)")
    r.add_argument("--save-scenario", metavar="PATH", help="write the effective scenario as a TOML file")
    r.add_argument("--quiet", action="store_true", help="print only the summary")
    return p


def scenario_from_args(args: argparse.Namespace) -> tuple[str, Scenario]:
    preset_name = args.preset
    settings: list[tuple[str, str]] = []
    if args.scenario:
        data = _read_scenario_file(args.scenario)
        if "preset" in data and args.preset == DEFAULT_PRESET:
            preset_name = str(data.pop("preset"))
        else:
            data.pop("preset", None)
        settings += [(k, _toml_text(v)) for k, v in data.items()]
    base = get_preset(preset_name).scenario
    for item in args.settings:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ScenarioError(f"--set {item!r}: write KEY=VALUE, e.g. --set generator=ok")
        settings.append((key.strip(), value))
    if args.seed is not None:
        settings.append(("seed", str(args.seed)))
    return preset_name, apply_settings(base, settings)


def _read_scenario_file(path: str) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--scenario {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--scenario {path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--scenario {path}: not valid TOML ({exc})") from None


def _toml_text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(f"{m}:{'on' if on else 'off'}" for m, on in value)
    return str(value)


def scenario_toml(preset: str, s: Scenario) -> str:
    """The scenario as a file `--scenario` reads back: the preset and the settings that differ."""
    lines = ["# Lights Out scenario — run with: python -m sim run --scenario THIS_FILE", f'preset = "{preset}"']
    for key, value in to_settings(s, get_preset(preset).scenario).items():
        lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


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
    tl = run(scenario, graph)
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
    for path, what in ((args.metrics_csv, "metrics"), (args.events_csv, "events"), (args.save_scenario, "scenario")):
        if path:
            print(f"Wrote {what} to {path}")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "presets":
            cmd_presets()
        else:
            cmd_run(args)
    except (UsageError, ScenarioError, ArchitectureError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "scenario_toml", "format_value"]
