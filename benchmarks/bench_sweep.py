"""Sweep speed: issue 4's target — 20 values × 5 seeds on the default architecture in under 10 s.

    python benchmarks/bench_sweep.py                 # median of 3, in this process and with 2 workers
    python benchmarks/bench_sweep.py --workers 1     # one configuration only

The sweep is the Experiment page's metastability experiment: the retry-storm preset in its compact
window (power cut at minute 2, run ends 40 minutes later: 253 steps), traffic 0.5–1.5×, seeds 1–5.
Also prints the full-length (3-hour) runs for comparison, once. The machine is shared: note the
load average printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import PRESETS  # noqa: E402
from sim.sweep import compact, seeds_from, sweep, values_between  # noqa: E402

TARGET_S = 10.0


CPU: list[float] = []


def timed(base, workers: int) -> float:
    t, c = time.perf_counter(), time.process_time()
    r = sweep(base, "load", values_between("load", 0.5, 1.5, 20), seeds_from(1, 5), workers=workers)
    assert len(r.points) == 100
    if workers == 1:
        CPU.append(time.process_time() - c)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, choices=(1, 2), help="only this many worker processes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time the full 3-hour runs (slow)")
    args = ap.parse_args()
    base = compact(PRESETS["retry_storm"].scenario)
    print(f"sweep: load 0.5-1.5 x 20 values x 5 seeds = 100 runs of {base.duration_min:g} simulated min "
          f"(retry_storm, compact window); cores {len(os.sched_getaffinity(0))}, "
          f"load average {os.getloadavg()[0]:.2f}")
    for workers in ([args.workers] if args.workers else [1, 2]):
        times = [timed(base, workers) for _ in range(args.repeats)]
        med = statistics.median(times)
        print(f"workers={workers}: median {med:.2f} s of {args.repeats} ({', '.join(f'{t:.2f}' for t in times)}); "
              f"{med / TARGET_S:.2f} x the {TARGET_S:g} s target -> {'PASS' if med < TARGET_S else 'FAIL'}")
    if CPU:
        print(f"CPU time of the serial sweep (independent of other load): median {statistics.median(CPU):.2f} s")
    if args.full:
        t = timed(PRESETS["retry_storm"].scenario, args.workers or 1)
        print(f"full 3-hour runs (no compact window), once: {t:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
