"""Simulation speed: the figures behind issue 2's targets. Prints medians and ratios.

    python benchmarks/bench_sim.py            # all figures (about a minute)
    python benchmarks/bench_sim.py --quick    # fewer repeats
    python benchmarks/bench_sim.py --resume   # only checkpoints: their cost, and a flip's run from one

Targets: the default scenario over ≥ 3 simulated hours in ≤ 0.25 s median (simulation only,
interpreter start excluded); a generated 500-node architecture in ≤ 5 s. Results go to
docs/PERFORMANCE.md by hand, with the date and machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--resume", action="store_true", help="only the checkpoint figures")
    args = ap.parse_args()
    reps = 3 if args.quick else 9
    print(f"# Python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}")
    checkpoints(reps)
    if args.resume:
        return
    s = PRESETS["as_reported"].scenario
    base = median_time(lambda: run(s), reps)
    print(f"default scenario, {s.duration_min:g} min simulated ({s.steps} steps): median {base:.3f} s "
          f"(target ≤ 0.25 s: {'met' if base <= 0.25 else 'MISSED'})")
    for name, preset in PRESETS.items():
        print(f"  preset {name:<20} median {median_time(lambda: run(preset.scenario), max(3, reps // 3)):.3f} s")
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
