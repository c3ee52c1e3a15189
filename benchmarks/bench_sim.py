"""Simulation speed: the figures behind issue 2's targets. Prints medians and ratios.

    python benchmarks/bench_sim.py            # all figures (about a minute)
    python benchmarks/bench_sim.py --quick    # fewer repeats
    python benchmarks/bench_sim.py --resume   # only checkpoints: their cost, and a flip's run from one
    python benchmarks/bench_sim.py --baseline-only             # only this tree against c9ebdbb
    python benchmarks/bench_sim.py --baseline REF --rounds 9   # against another commit, more rounds
    python benchmarks/bench_sim.py --baseline none             # no comparison
    python benchmarks/bench_sim.py --large                     # only issue 15's large architectures (minutes)
    python benchmarks/bench_sim.py --large --sizes 500 --rounds 5 --large-baseline none

Targets: the default scenario over ≥ 3 simulated hours in ≤ 0.25 s median (simulation only,
interpreter start excluded), and no slower than before this session's engine changes (commit
c9ebdbb) by more than 10 % in the same run; a generated 500-node architecture in ≤ 5 s. Results go
to docs/PERFORMANCE.md by hand, with the date and machine.

Issue 15 (--large): a generated (`benchmarks.generate.generate`) and a dense (`generate_dense`: ten
layers, two callers per node, every call retried, eight features) architecture of 500 nodes in
≤ 1 s and of 2,000 in ≤ 5 s, over 180 simulated minutes; reading + validation and layout of 2,000
nodes in ≤ 1 s. Each file is written once (in the generator's compact form, within the 256 KB file
limit) and loaded with `sim.load_architecture`, then run by this tree and by --large-baseline
(default 20eaa9c, the engine before that work) in fresh interpreters, alternating.

The comparison with a baseline (--baseline REF, default c9ebdbb): REF is checked out with
`git worktree add --detach` into a temporary directory (removed afterwards), and
`sim.run(PRESETS["as_reported"].scenario)` is timed in both trees in the same run, in separate
`python -c` processes (each with its own tree first on sys.path), alternating old/new round by
round (the order swapped every round) so that both see the same machine load. Prints both medians
and the ratio this tree / REF against 1.10. Without git or REF it says so and skips.
"""

from __future__ import annotations

import argparse
import contextlib
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
LARGE_BASELINE = "20eaa9c"  # the engine before issue 15's large-architecture work

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


@contextlib.contextmanager
def baseline_tree(ref: str, label: str):
    """Commit `ref` checked out with `git worktree add --detach` into a temporary directory (removed
    afterwards): yields (its path, the full commit), or None after saying why there is none."""
    if not shutil.which("git"):
        print(f"{label}: git is not available; comparison skipped")
        yield None
        return
    git = ["git", "-C", str(ROOT)]
    found = subprocess.run(git + ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        print(f"{label}: no such commit in {ROOT}; comparison skipped")
        yield None
        return
    commit = found.stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-baseline-"))
    old = tmp / "tree"
    try:
        added = subprocess.run(git + ["worktree", "add", "--detach", str(old), commit], capture_output=True, text=True)
        if added.returncode != 0:
            print(f"{label}: git worktree add failed ({added.stderr.strip()[:200]}); comparison skipped")
            yield None
            return
        yield old, commit
    finally:
        removed = subprocess.run(git + ["worktree", "remove", "--force", str(old)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if removed.returncode != 0:      # e.g. the checkout failed half-way: forget its metadata
            subprocess.run(git + ["worktree", "prune"], capture_output=True)


def this_tree() -> str:
    """HEAD's short hash, and whether sim/ has uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--", "sim"], capture_output=True, text=True).stdout.strip()
    return f"HEAD {head}{' with uncommitted changes in sim/' if dirty else ''}"


def against_baseline(ref: str, rounds: int, reps: int) -> None:
    """This tree's default scenario against commit `ref`'s, alternating in the same run."""
    label = f"baseline {ref}"
    with baseline_tree(ref, label) as found:
        if found is None:
            return
        old, commit = found
        times: dict[str, list[float]] = {"new": [], "old": []}
        paired = []
        try:
            for i in range(rounds):      # old/new, then new/old: neither always runs first
                got = {}
                for which in (("old", "new") if i % 2 == 0 else ("new", "old")):
                    got[which] = time_tree(old if which == "old" else ROOT, reps)
                    times[which] += got[which]
                paired.append(statistics.median(got["new"]) / statistics.median(got["old"]))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"{label}: {exc}; comparison skipped")
            return
    new_s, old_s = statistics.median(times["new"]), statistics.median(times["old"])
    ratio = new_s / old_s
    print(f"default scenario against {ref} ({commit[:10]}), same run, {rounds} alternating rounds of {reps} runs "
          f"in fresh interpreters; this tree is {this_tree()}:")
    print(f"  this tree   median {new_s:.3f} s (target ≤ 0.25 s: {'met' if new_s <= 0.25 else 'MISSED'})")
    print(f"  {ref:<11s} median {old_s:.3f} s")
    print(f"  ratio this tree / {ref} {ratio:.2f}× (target ≤ {MAX_SLOWER:.2f}×: "
          f"{'met' if ratio <= MAX_SLOWER else 'MISSED'}); per round "
          f"{' '.join(f'{r:.2f}' for r in paired)} (median {statistics.median(paired):.2f}×)")


# One tree's run of an architecture file (written by this tree's benchmarks.generate, so that an
# older tree runs the very same file): loaded first (`sim.load_architecture`: the file size limit,
# then validation), then `reps` runs of the default scenario timed.
LARGE_TIMING = """
import json, sys, time
sys.path.insert(0, {tree!r})
import sim
assert sim.__file__.startswith({tree!r}), sim.__file__
g = sim.load_architecture({file!r})                 # a file: read through the 256 KB limit
s = sim.Scenario()
try:                                       # as a worker does before its first large architecture (ui/pool.py)
    from sim import compiled
    t = time.perf_counter()
    compiled.prepare()
    prepared = time.perf_counter() - t
except ImportError:                                  # a tree without the compiled step
    prepared = 0.0
times = []
for _ in range({reps}):
    t, c = time.perf_counter(), time.process_time()
    sim.run(s, g)
    times.append((time.perf_counter() - t, time.process_time() - c, prepared))
print(json.dumps(times))
"""
LARGE_TARGET = {500: 1.0, 2000: 5.0}        # seconds, 180 simulated minutes (issue 15)


def time_large(tree: Path, file: Path, reps: int, numpy_only: bool = False) -> list[list[float]]:
    """[wall, CPU, prepare] seconds of each run (CPU time: this process alone, less sensitive to a shared
    machine; prepare: readying the compiled step before the runs, as the app's workers do first).
    `numpy_only`: the numpy step even where numba is installed (LIGHTS_OUT_NO_JIT)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LIGHTS_OUT_NO_JIT")}
    if numpy_only:
        env["LIGHTS_OUT_NO_JIT"] = "1"
    out = subprocess.run([sys.executable, "-c", LARGE_TIMING.format(tree=str(tree), file=str(file), reps=reps)],
                         cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"timing in {tree} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def large(ref: str | None, rounds: int, sizes: tuple[int, ...]) -> None:
    """Issue 15's figures: generated and dense architectures at 500 and 2,000 nodes, 180 min, in fresh
    interpreters (one run each, alternating with `ref`'s engine on the same files, order swapped every
    round); then parsing and layout of 2,000 nodes in this process."""
    from benchmarks.generate import dense_text, generate_text
    from sim import Scenario, load_architecture
    from sim.files import ARCHITECTURE_MAX_BYTES
    from sim.simulation import Simulation
    from viz.layout import layered_layout
    shapes = {"generated": generate_text, "dense": dense_text}
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-large-"))
    try:
        files = {}
        for shape, make in shapes.items():
            for nodes in sizes:
                files[shape, nodes] = tmp / f"{shape}-{nodes}.toml"
                files[shape, nodes].write_text(make(nodes), encoding="utf-8")
        ctx = baseline_tree(ref, f"baseline {ref}") if ref else contextlib.nullcontext(None)
        with ctx as found:
            old = found[0] if found else None
            from sim import compiled
            compiled_here = compiled.prepare()      # also fills numba's cache before anything is timed
            print(f"Large architectures (issue 15): default scenario, 180 min simulated; medians of {rounds} runs, "
                  f"each in a fresh interpreter; this tree is {this_tree()}, "
                  f"{'compiled step (numba), against its numpy step' if compiled_here else 'numpy step (no numba)'}"
                  + (f", and against {ref} ({found[1][:10]}), alternating round by round:" if found else ":"))
            for (shape, nodes), file in files.items():
                g = load_architecture(file)
                calls = sum(1 for *_, d in g.edges(data=True) if d["kind"] in ("call", "fallback"))
                pairs = sum(len(p) for p in Simulation(Scenario(), g).model.pairs)
                times: dict[str, list[list[float]]] = {"new": [], "numpy": [], "old": []}
                runners = {"new": (ROOT, False), "numpy": (ROOT, True), "old": (old, False)}
                order = [w for w in ("old", "new", "numpy") if (w != "old" or old is not None)
                         and (w != "numpy" or compiled_here)]
                for i in range(rounds):
                    for which in (order if i % 2 == 0 else order[::-1]):
                        tree, numpy_only = runners[which]
                        times[which] += time_large(tree, file, 1, numpy_only)
                new_s = statistics.median(t[0] for t in times["new"])
                new_cpu = statistics.median(t[1] for t in times["new"])
                target = LARGE_TARGET.get(nodes)
                line = (f"  {shape:<9} {g.number_of_nodes():>5} nodes, {calls:>5} calls, {pairs:>5} (class, call) pairs: "
                        f"median {new_s:6.2f} s (CPU {new_cpu:5.2f} s; {new_cpu / calls * 1e3:4.2f} ms CPU per call)")
                if target:      # judged on both: wall time counts the machine's other load too
                    line += (f" (target ≤ {target:g} s: wall {'met' if new_s <= target else 'MISSED'}, "
                             f"CPU {'met' if new_cpu <= target else 'MISSED'})")
                for which, name in (("numpy", "numpy step"), ("old", ref)):
                    if times[which]:
                        o_s = statistics.median(t[0] for t in times[which])
                        o_cpu = statistics.median(t[1] for t in times[which])
                        line += (f"; {name} {o_s:6.2f} s (CPU {o_cpu:5.2f} s), ratio {new_s / o_s:.2f}× "
                                 f"(CPU {new_cpu / o_cpu:.2f}×)")
                print(line, flush=True)
                prepared = [t[2] for t in times["new"]]
                print(f"      readying the compiled step first (numba's import and its cached kernel, as a worker "
                      f"does before its first large architecture): median {statistics.median(prepared):.2f} s",
                      flush=True)
        for shape in shapes:
            file = files.get((shape, 2000)) or tmp / f"{shape}-2000.toml"
            if not file.exists():
                file.write_text(shapes[shape](2000), encoding="utf-8")
            size = file.stat().st_size
            load = median_time(lambda: load_architecture(file), 5)
            g = load_architecture(file)
            lay = median_time(lambda: layered_layout(g), 5)
            print(f"  {shape:<9} 2,000 nodes ({size / 1024:.0f} KB of TOML, limit {ARCHITECTURE_MAX_BYTES // 1024} KB: "
                  f"{'within' if size <= ARCHITECTURE_MAX_BYTES else 'OVER'}): read and validate "
                  f"(sim.load_architecture) median {load:.3f} s, layout (viz.layout.layered_layout) median "
                  f"{lay:.3f} s (targets ≤ 1 s: {'met' if max(load, lay) <= 1 else 'MISSED'})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--resume", action="store_true", help="only the checkpoint figures")
    ap.add_argument("--baseline", default=BASELINE, metavar="REF",
                    help=f"compare the default scenario with this commit in the same run (default {BASELINE}; "
                         f"'none' to skip)")
    ap.add_argument("--baseline-only", action="store_true", help="only the comparison with the baseline")
    ap.add_argument("--rounds", type=int, help="alternating rounds of the comparison (default 7; --quick 3; "
                                                "--large: runs per architecture, default 3)")
    ap.add_argument("--large", action="store_true", help="only issue 15's large architectures, against --large-baseline")
    ap.add_argument("--large-baseline", default=LARGE_BASELINE, metavar="REF",
                    help=f"the engine the large figures compare with (default {LARGE_BASELINE}; 'none' to skip)")
    ap.add_argument("--sizes", default="500,2000", help="--large: node counts (default 500,2000)")
    args = ap.parse_args()
    reps = 3 if args.quick else 9
    rounds = args.rounds or (3 if args.quick else 7)
    compare = args.baseline.strip().lower() not in ("", "none")
    print(f"# Python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}")
    if args.large:
        ref = args.large_baseline.strip()
        large(None if ref.lower() in ("", "none") else ref, args.rounds or 3,
              tuple(int(x) for x in args.sizes.split(",")))
        return
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
