"""Simulation speed: the figures behind issue 2's targets. Prints medians and ratios.

    python benchmarks/bench_sim.py            # all figures (about a minute)
    python benchmarks/bench_sim.py --quick    # fewer repeats
    python benchmarks/bench_sim.py --resume   # only checkpoints: their cost, and a flip's run from one
    python benchmarks/bench_sim.py --baseline-only             # only this tree against c9ebdbb
    python benchmarks/bench_sim.py --baseline REF --rounds 9   # against another commit, more rounds
    python benchmarks/bench_sim.py --baseline none             # no comparison

Targets: the default scenario over ≥ 3 simulated hours in ≤ 0.25 s median (simulation only,
interpreter start excluded), and no slower than before this session's engine changes (commit
c9ebdbb) by more than 10 % in the same run; a generated 500-node architecture in ≤ 5 s. Results go
to docs/PERFORMANCE.md by hand, with the date and machine.

The comparison with a baseline (--baseline REF, default c9ebdbb): REF is checked out with
`git worktree add --detach` into a temporary directory (removed afterwards), and
`sim.run(PRESETS["as_reported"].scenario)` is timed in both trees in the same run, in separate
`python -c` processes (each with its own tree first on sys.path), alternating old/new round by
round (the order swapped every round) so that both see the same machine load. Prints both medians
and the ratio this tree / REF against 1.10. Without git or REF it says so and skips.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate  # noqa: E402
from sim import FREE_PLAY, PRESETS, default_architecture, run  # noqa: E402
from sim.resume import EVERY_MIN, Store  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()                                   # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


BASELINE = "c9ebdbb"        # the engine before this session's changes
MAX_SLOWER = 1.10           # this tree / the baseline, same run

# One tree's default scenario in a fresh interpreter: its tree first on sys.path, one warm-up run,
# then `reps` timed runs printed as JSON. Only `sim.run` and `sim.PRESETS`, which every tree has.
TIMING = """
import json, sys, time
sys.path.insert(0, {tree!r})
import sim
assert sim.__file__.startswith({tree!r}), sim.__file__
s = sim.PRESETS["as_reported"].scenario
sim.run(s)
times = []
for _ in range({reps}):
    t = time.perf_counter()
    sim.run(s)
    times.append(time.perf_counter() - t)
print(json.dumps(times))
"""


def time_tree(tree: Path, reps: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", TIMING.format(tree=str(tree), reps=reps)], cwd=tree, env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"timing in {tree} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def against_baseline(ref: str, rounds: int, reps: int) -> None:
    """This tree's default scenario against commit `ref`'s, alternating in the same run."""
    label = f"baseline {ref}"
    if not shutil.which("git"):
        print(f"{label}: git is not available; comparison skipped")
        return
    git = ["git", "-C", str(ROOT)]
    found = subprocess.run(git + ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        print(f"{label}: no such commit in {ROOT}; comparison skipped")
        return
    commit = found.stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-baseline-"))
    old = tmp / "tree"
    try:
        added = subprocess.run(git + ["worktree", "add", "--detach", str(old), commit], capture_output=True, text=True)
        if added.returncode != 0:
            print(f"{label}: git worktree add failed ({added.stderr.strip()[:200]}); comparison skipped")
            return
        times: dict[str, list[float]] = {"new": [], "old": []}
        paired = []
        for i in range(rounds):      # old/new, then new/old: neither always runs first
            got = {}
            for which in (("old", "new") if i % 2 == 0 else ("new", "old")):
                got[which] = time_tree(old if which == "old" else ROOT, reps)
                times[which] += got[which]
            paired.append(statistics.median(got["new"]) / statistics.median(got["old"]))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"{label}: {exc}; comparison skipped")
        return
    finally:
        removed = subprocess.run(git + ["worktree", "remove", "--force", str(old)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if removed.returncode != 0:      # e.g. the checkout failed half-way: forget its metadata
            subprocess.run(git + ["worktree", "prune"], capture_output=True)
    new_s, old_s = statistics.median(times["new"]), statistics.median(times["old"])
    ratio = new_s / old_s
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--", "sim"], capture_output=True, text=True).stdout.strip()
    print(f"default scenario against {ref} ({commit[:10]}), same run, {rounds} alternating rounds of {reps} runs "
          f"in fresh interpreters; this tree is HEAD {head}{' with uncommitted changes in sim/' if dirty else ''}:")
    print(f"  this tree   median {new_s:.3f} s (target ≤ 0.25 s: {'met' if new_s <= 0.25 else 'MISSED'})")
    print(f"  {ref:<11s} median {old_s:.3f} s")
    print(f"  ratio this tree / {ref} {ratio:.2f}× (target ≤ {MAX_SLOWER:.2f}×: "
          f"{'met' if ratio <= MAX_SLOWER else 'MISSED'}); per round "
          f"{' '.join(f'{r:.2f}' for r in paired)} (median {statistics.median(paired):.2f}×)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--resume", action="store_true", help="only the checkpoint figures")
    ap.add_argument("--baseline", default=BASELINE, metavar="REF",
                    help=f"compare the default scenario with this commit in the same run (default {BASELINE}; "
                         f"'none' to skip)")
    ap.add_argument("--baseline-only", action="store_true", help="only the comparison with the baseline")
    ap.add_argument("--rounds", type=int, help="alternating rounds of the comparison (default 7; --quick 3)")
    args = ap.parse_args()
    reps = 3 if args.quick else 9
    rounds = args.rounds or (3 if args.quick else 7)
    compare = args.baseline.strip().lower() not in ("", "none")
    print(f"# Python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}")
    if args.baseline_only:
        if compare:
            against_baseline(args.baseline.strip(), rounds, 3 if args.quick else 5)
        return
    checkpoints(reps)
    if args.resume:
        return
    s = PRESETS["as_reported"].scenario
    base = median_time(lambda: run(s), reps)
    print(f"default scenario, {s.duration_min:g} min simulated ({s.steps} steps): median {base:.3f} s "
          f"(target ≤ 0.25 s: {'met' if base <= 0.25 else 'MISSED'})")
    for name, preset in PRESETS.items():
        print(f"  preset {name:<20} median {median_time(lambda: run(preset.scenario), max(3, reps // 3)):.3f} s")
    if compare:
        print()
        against_baseline(args.baseline.strip(), rounds, 3 if args.quick else 5)
    print("\nGrowth with duration (default architecture):")
    for minutes in (60, 180, 360, 720):
        t = median_time(lambda: run(s.replace(duration_min=float(minutes))), max(3, reps // 3))
        print(f"  {minutes:>4} min: median {t:.3f} s  ({t / base:.2f}× the 180-min run)")
    print("\nGrowth with nodes (generated architectures, 180 min):")
    small = None
    for nodes in (50, 100, 200, 500):
        g = generate(nodes)
        t = median_time(lambda: run(s, g), 3)
        small = small or t
        print(f"  {g.number_of_nodes():>4} nodes, {g.number_of_edges():>4} edges: median {t:.3f} s "
              f"({t / small:.1f}× the 50-node run)" + ("  (target ≤ 5 s: " + ("met)" if t <= 5 else "MISSED)")
                                                     if nodes == 500 else ""))
    print(f"\ndefault architecture: {default_architecture().number_of_nodes()} nodes")


def checkpoints(reps: int) -> None:
    """What keeping checkpoints costs a run, and what starting a flip's first minutes from one saves."""
    every = round(EVERY_MIN * 60 / FREE_PLAY.step_s)
    plain = median_time(lambda: run(FREE_PLAY), reps)
    kept = median_time(lambda: run(FREE_PLAY, checkpoint_every=every), reps)
    print(f"free play, 180 min: median {plain:.3f} s; keeping a checkpoint every {EVERY_MIN:g} min "
          f"{kept:.3f} s ({kept / plain:.2f}×)")
    store = Store()
    store.run(FREE_PLAY)
    print("a flip's first 20 minutes (run from minute 0 vs from free play's latest checkpoint):")
    for t_min in (10.0, 25.0, 40.0):
        s = FREE_PLAY.with_power_flip(t_min, False).replace(duration_min=t_min + 20)
        found = store.find(s)
        assert found is not None
        full = median_time(lambda: run(s), reps)
        resumed = median_time(lambda: run(s, resume=found), reps)
        print(f"  flip at {t_min:>4g} min: {full * 1000:5.1f} ms vs {resumed * 1000:5.1f} ms "
              f"({full / resumed:.1f}× faster; from the checkpoint at {found[1].t_s / 60:g} min)")


if __name__ == "__main__":
    main()
