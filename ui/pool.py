"""Simulations on the second core: a worker process for the pages' runs.

Why: Streamlit runs every visitor's script in a thread of one Python process, so all simulations
and all reruns share one core (the GIL). When a class flips the switch in the same second, thirty
simulations queue behind each other and behind everyone's reruns. A worker process runs the
simulations on the other core while this process answers the reruns.

Used only when it can help and never at a cost to correctness: with one core (or
`LIGHTS_OUT_WORKERS=0`) everything runs here; while the worker is still starting (its imports take
a second or two on a cold container) runs go on here instead of waiting; if the worker dies, the run
is done here and a new worker is started for later runs. Results are identical either way (the
simulation is deterministic); a function given to `call` must be importable (module level) and take
and return picklable values.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import sim
from sim.sweep import usable_cores

WORKERS_ENV = "LIGHTS_OUT_WORKERS"
MAX_WORKERS = 2         # a Community Cloud container has at most 2 cores; this process needs one too
GRACE_S = 2.0           # a worker's run stops itself at its deadline; wait this much longer for its answer
PRELOAD = ["sim", "viz.runs", "viz.charts", "viz.whatif"]   # imported once by the fork server

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_ready: Future | None = None         # the worker's warm-up: runs go to the worker once it is done
_size = 0                            # workers in _pool; minus that when a pool of that size failed to start
_starting = False
_failures = 0                        # pools that broke; after MAX_FAILURES, runs stay here
MAX_FAILURES = 3


def workers() -> int:
    """Worker processes to use: `LIGHTS_OUT_WORKERS`, else 1 where this process may use ≥ 2 cores."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(0, min(MAX_WORKERS, int(raw)))
        except ValueError:
            log.warning("%s=%r is not a whole number; using the default", WORKERS_ENV, raw)
    return 1 if usable_cores() >= 2 else 0


def _start(size: int) -> None:
    """Start a pool of `size` workers forked from a server that has imported the model and charts
    (in a background thread: starting the fork server blocks until its imports are done)."""
    global _pool, _ready, _size, _starting
    try:
        import viz.runs  # noqa: PLC0415 — the warm-up's target must be importable here too

        ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)
        pool = ProcessPoolExecutor(max_workers=size, mp_context=ctx)
        ready = pool.submit(viz.runs.warm)
    except (OSError, RuntimeError, ImportError, ValueError) as exc:  # no /dev/shm, no fork server…
        log.warning("no worker process (%s): simulations run in the server process", exc)
        with _lock:
            _starting = False
            _size = -size            # do not try again with the same setting
        return
    with _lock:
        _pool, _ready, _size, _starting = pool, ready, size, False


def _drop(pool: ProcessPoolExecutor | None) -> None:
    """Forget a broken pool (the next call starts a new one, up to MAX_FAILURES times)."""
    global _pool, _ready, _size, _failures
    with _lock:
        if pool is not None and _pool is pool:
            _pool, _ready, _size = None, None, 0
            _failures += 1
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _usable() -> tuple[ProcessPoolExecutor, int] | None:
    """The pool and its size if its workers are ready; else None (starting them in the background if needed)."""
    global _starting
    size = workers()
    if size == 0:
        return None
    with _lock:
        if _size == -size or _failures >= MAX_FAILURES:
            return None
        if (_pool is None or _size != size) and not _starting:
            old = _pool
            _starting = True
            threading.Thread(target=_start, args=(size,), name="lights-out-pool-start", daemon=True).start()
            if old is not None:
                old.shutdown(wait=False)
        pool, ready = (_pool, _ready) if _size == size else (None, None)
    if pool is None or ready is None or not ready.done():
        return None
    if ready.exception() is not None:
        log.warning("the worker process failed to start (%s): running here", ready.exception())
        _drop(pool)
        return None
    return pool, size


class _Turns:
    """Which waiting run goes to the worker next: urgent ones (what a visitor is looking at) before
    background ones (the rest of a run whose first minutes are already playing), then first come,
    first served. At most `slots` runs are with the workers at once (the caller gives one more than
    there are workers, so a worker never idles between two runs), so a background run is never
    more than that far ahead of an urgent one that arrives after it."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._busy = 0
        self._queue: list[tuple[int, int]] = []   # (0 urgent / 1 background, arrival)
        self._arrivals = itertools.count()

    def take(self, background: bool, slots: int, deadline: float | None) -> bool:
        """Wait for a turn; False if the deadline passed first."""
        me = (int(background), next(self._arrivals))
        with self._cv:
            heapq.heappush(self._queue, me)
            while self._busy >= slots or self._queue[0] != me:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    self._queue.remove(me)
                    heapq.heapify(self._queue)
                    self._cv.notify_all()
                    return False
                self._cv.wait(left)
            heapq.heappop(self._queue)
            self._busy += 1
            self._cv.notify_all()   # the next in line may have a free slot too
            return True

    def give_back(self) -> None:
        with self._cv:
            self._busy -= 1
            self._cv.notify_all()


_turns = _Turns()


def call(fn: Callable[..., Any], *args: Any, deadline: float | None = None, background: bool = False) -> Any:
    """`fn(*args, deadline=deadline)` in the worker process when one is ready, else here.

    `deadline` is a `time.monotonic()` value (the same clock in every process on one machine): the
    run stops itself there with `sim.OverBudget`, and one still waiting for its turn at the deadline
    is given up with the same error, as is a worker that has not answered GRACE_S later.
    `background` runs wait while urgent ones are waiting. Exceptions raised by `fn` reach the
    caller unchanged.
    """
    usable = _usable()
    if usable is None:
        return fn(*args, deadline=deadline)
    pool, slots = usable
    if not _turns.take(background, slots + 1, deadline):   # one queued: the worker never idles between runs
        raise sim.OverBudget("still waiting for the simulation worker at the deadline")
    try:
        return _in(pool, fn, args, deadline)
    finally:
        _turns.give_back()


def _in(pool: ProcessPoolExecutor, fn: Callable[..., Any], args: tuple, deadline: float | None) -> Any:
    try:
        future = pool.submit(fn, *args, deadline=deadline)
    except (BrokenProcessPool, RuntimeError):   # broken, or shut down by another thread
        _drop(pool)
        return fn(*args, deadline=deadline)
    wait = None if deadline is None else max(0.0, deadline - time.monotonic()) + GRACE_S
    try:
        return future.result(timeout=wait)
    except FutureTimeout:
        future.cancel()
        raise sim.OverBudget("the worker process did not answer in time") from None
    except BrokenProcessPool:                   # the worker died (killed, out of memory): do it here
        log.warning("the worker process died; running here and starting a new one")
        _drop(pool)
        return fn(*args, deadline=deadline)


def wait_ready(timeout: float = 60.0) -> bool:
    """Start the worker if needed and wait until it takes runs (tests and benchmarks)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _usable() is not None:
            return True
        time.sleep(0.05)
    return False


def shutdown() -> None:
    """Stop the worker and forget past failures (tests)."""
    global _failures
    _drop(_pool)
    with _lock:
        _failures = 0


__all__ = ["call", "workers", "wait_ready", "shutdown", "WORKERS_ENV"]
