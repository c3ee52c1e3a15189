"""Sweeps ("experiments"): vary one setting over a range, run several seeds per value, collect outcomes.

Pure and deterministic: the same base scenario, knob, values and seeds give the same results in the
same order, whether the runs happen in this process or in a pool of worker processes.

Speed. One run of the 3-hour story takes ~0.3–0.6 s here, so 20 values × 5 seeds of it would take
half a minute. A sweep therefore runs a **compact window** by default (`compact`): the whole
schedule is shifted so the power cut happens at minute `lead_min`, and each run ends `window_min`
minutes after the cut. Everything that matters for "does it recover?" happens in that window for
the retry-storm family; for slower stories widen the window (the page says so, and every outcome
that has not recovered is reported as "not by the end of the window", never as "never").
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Sequence

import networkx as nx

from .engine import run
from .outcomes import Outcome, outcome
from .scenario import RANGES, Scenario, ScenarioError

DEFAULT_LEAD_MIN = 2.0
DEFAULT_WINDOW_MIN = 40.0
MAX_POINTS = 40
MAX_SEEDS = 10


@dataclass(frozen=True)
class Knob:
    name: str            # a Scenario field
    label: str
    lo: float            # default range
    hi: float
    integer: bool = False


# Settings worth sweeping, with the ranges the issue names as defaults.
KNOBS: dict[str, Knob] = {k.name: k for k in (
    Knob("load", "Traffic (× normal)", 0.5, 1.5),
    Knob("max_retries", "Max retries", 0, 5, integer=True),
    Knob("ups_minutes", "UPS minutes", 0, 20),
    Knob("failover_headroom", "Failover headroom (share of normal load)", 0.0, 1.0),
    Knob("timeout_s", "Timeout (s)", 0.5, 5.0),
    Knob("cache_warmup_min", "Cache warm-up (min)", 1.0, 30.0),
    Knob("generator_delay_min", "Generator delay (min)", 0.0, 20.0),
    Knob("chiller_restart_min", "Chiller restart (min)", 0.0, 20.0),
)}


@dataclass(frozen=True)
class SweepPoint:
    value: float
    seed: int
    outcome: Outcome


@dataclass
class SweepResult:
    knob: str
    values: list[float]
    seeds: list[int]
    base: Scenario                      # the scenario each point varies (after `compact`, if used)
    points: list[SweepPoint] = field(default_factory=list)
    failed: list[tuple[float, int, str]] = field(default_factory=list)   # (value, seed, why) of runs that failed
    stopped: bool = False               # gave up after too many failures; the rest were not tried

    def by_value(self) -> dict[float, list[Outcome]]:
        out: dict[float, list[Outcome]] = {v: [] for v in self.values}
        for p in self.points:
            out[p.value].append(p.outcome)
        return out


def values_between(knob: str, lo: float, hi: float, n: int) -> list[float]:
    """`n` evenly spaced values from lo to hi (whole numbers for integer knobs, duplicates dropped),
    clamped to the setting's allowed range."""
    n = max(1, min(MAX_POINTS, int(n)))
    low, high = RANGES.get(knob, (-math.inf, math.inf))
    lo, hi = (max(low, min(high, float(x))) for x in (lo, hi))
    raw = [lo] if n == 1 else [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    integer = KNOBS[knob].integer if knob in KNOBS else False
    out: list[float] = []
    for v in raw:
        v = float(round(v)) if integer else round(v, 6)
        if v not in out:
            out.append(v)
    return out


def compact(s: Scenario, lead_min: float = DEFAULT_LEAD_MIN, window_min: float | None = DEFAULT_WINDOW_MIN) -> Scenario:
    """The scenario shifted so its first power cut is at `lead_min`, ending `window_min` later.

    Every action (cuts, restores, operators' steps, faults) moves by the same amount, so the story is
    unchanged apart from a shorter calm start and an earlier end. A scenario without a cut is only
    shortened. `window_min=None` keeps the original end.
    """
    cuts = [t / 60.0 for t, on in s.utility_flips() if not on]
    shift = max(0.0, (cuts[0] - lead_min)) if cuts else 0.0
    end = s.duration_min - shift
    if window_min is not None:
        end = min(end, (cuts[0] - shift if cuts else 0.0) + window_min)
    end = max(1.0, end)
    return s.shifted(shift).replace(duration_min=round(end, 6))


def point_scenario(base: Scenario, knob: str, value: float, seed: int) -> Scenario:
    v: float | int = int(value) if knob in KNOBS and KNOBS[knob].integer else float(value)
    return base.replace(**{knob: v, "seed": int(seed)})


def _one(args: tuple[Scenario, nx.DiGraph | None]) -> Outcome:
    s, g = args
    return outcome(run(s, g))


@functools.lru_cache(maxsize=1)
def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), looked up once: it does not change while
    the server runs, and a system call on a busy server's hot path costs a wait for the GIL."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """Two worker processes where two cores exist, else none (runs in this process)."""
    return 2 if usable_cores() >= 2 else 1


def sweep(base: Scenario, knob: str, values: Sequence[float], seeds: Sequence[int], *,
          graph: nx.DiGraph | None = None, workers: int = 1,
          progress: Callable[[int, int], None] | None = None,
          point: Callable[[Scenario], Outcome] | None = None, max_failures: int | None = None) -> SweepResult:
    """Run `base` with `knob` = each value × each seed; outcomes in (value, seed) order. The one sweep
    engine: the CLI, the benchmarks and the Experiment page (through ui/runner.py) all use it.

    `point(scenario) -> Outcome` runs one point (the app passes one that goes through its runner:
    budget, worker, fair turns); a point that raises is recorded in `failed` with its message, and
    after `max_failures` of them the sweep stops (`stopped`). Without `point`, runs happen here
    (`workers` > 1: in a process pool; if it cannot start, here) and an error propagates.
    `progress(done, total)` is called after every finished run (from this process).
    """
    if knob not in base.__dataclass_fields__ or knob in ("seed", "actions"):
        raise ScenarioError(f"cannot sweep {knob!r}; sweepable settings: {', '.join(KNOBS)}")
    if not values or not seeds:
        raise ScenarioError("a sweep needs at least one value and one seed")
    if len(seeds) > MAX_SEEDS or len(values) > MAX_POINTS:
        raise ScenarioError(f"at most {MAX_POINTS} values and {MAX_SEEDS} seeds")
    jobs = [(float(v), int(sd), point_scenario(base, knob, v, sd)) for v in values for sd in seeds]
    total = len(jobs)
    result = SweepResult(knob=knob, values=[float(v) for v in values], seeds=[int(s) for s in seeds], base=base)
    if progress:
        progress(0, total)
    if point is not None:
        for done, (v, sd, s) in enumerate(jobs, 1):
            try:
                result.points.append(SweepPoint(v, sd, point(s)))
            except Exception as exc:  # noqa: BLE001 — a failed point is named, the others still count
                result.failed.append((v, sd, str(exc)))
            if progress:
                progress(done, total)
            if max_failures is not None and len(result.failed) >= max_failures and done < total:
                result.stopped = True
                break
        return result
    results: list[Outcome | None] = [None] * total
    done = 0
    pool_ok = False
    if workers > 1 and total > 1:
        try:
            import multiprocessing as mp

            ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {pool.submit(_one, (s, graph)): i for i, (_, _, s) in enumerate(jobs)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    done += 1
                    if progress:
                        progress(done, total)
            pool_ok = True
        except (OSError, RuntimeError, ImportError, EOFError):  # BrokenProcessPool is a RuntimeError
            pool_ok = False
    if not pool_ok:
        for i, (_, _, s) in enumerate(jobs):
            if results[i] is None:
                results[i] = _one((s, graph))
                done += 1
                if progress:
                    progress(min(done, total), total)
    result.points = [SweepPoint(v, sd, o) for (v, sd, _), o in zip(jobs, results)]  # type: ignore[arg-type]
    return result


def seeds_from(first: int, n: int) -> list[int]:
    """`n` consecutive seeds starting at `first` (wrapping inside the allowed range)."""
    high = int(RANGES["seed"][1])
    return [(int(first) + i) % (high + 1) for i in range(max(1, min(MAX_SEEDS, int(n))))]


__all__ = ["KNOBS", "Knob", "SweepPoint", "SweepResult", "compact", "sweep", "values_between",
           "point_scenario", "seeds_from", "default_workers", "usable_cores", "DEFAULT_LEAD_MIN", "DEFAULT_WINDOW_MIN"]


def recovery_share(result: SweepResult) -> dict[float, float]:
    """Share of seeds that recovered by the end of the run, per value."""
    return {v: sum(o.recovered for o in os_) / len(os_) for v, os_ in result.by_value().items() if os_}


def threshold(result: SweepResult) -> tuple[float, float] | None:
    """Where the system tips over: the first pair of neighbouring values (a, b) such that most seeds
    recover at `a` and most do not at `b` (or the other way round). None if the sweep never tips."""
    share = recovery_share(result)
    vals = [v for v in result.values if v in share]
    for a, b in zip(vals, vals[1:]):
        if (share[a] > 0.5) != (share[b] > 0.5):
            return a, b
    return None


__all__ += ["recovery_share", "threshold"]
