"""Simulations on the second core: a worker process for the pages' runs.

Why: Streamlit runs every visitor's script in a thread of one Python process, so all simulations
and all reruns share one core (the GIL). When a class flips the switch in the same second, thirty
simulations queue behind each other and behind everyone's reruns. A worker process runs the
simulations on the other core while this process answers the reruns.

Used only when it can help and never at a cost to correctness: with one core (or
`LIGHTS_OUT_WORKERS=0`) everything runs here; while the worker is still starting (its imports take
a second or two on a cold container) runs go on here instead of waiting. Results are identical either
way (the simulation is deterministic); a function given to `call` must be importable (module level)
and take and return picklable values.

Why a manager of our own rather than `concurrent.futures.ProcessPoolExecutor`: the app must know
which process runs which job, to tell a run that took too long (`sim.OverBudget`) from a worker that
hung or was killed (`WorkerLost`), to kill a hung worker and start another at once, and to choose
which waiting job goes next (fairness between visitors). Each worker takes one job at a time over a
pipe; the caller's thread sends it and watches the pipe and the process until the answer comes.
A worker that dies is replaced; one that keeps dying is rested for a cool-down, never given up.
"""

from __future__ import annotations

import collections
import itertools
import logging
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_any
from typing import Any, Callable

import sim
from sim import compiled as compiled_step
from sim.sweep import usable_cores

WORKERS_ENV = "LIGHTS_OUT_WORKERS"
MAX_WORKERS = 2         # a Community Cloud container has at most 2 cores; this process needs one too
GRACE_S = 2.0           # a worker's run stops itself at its deadline; one silent this much longer is hung
PRELOAD = ["sim", "viz.runs", "viz.charts", "viz.whatif"]   # imported once by the fork server
# `cost` is the caller's estimate of a run's work: simulated steps × nodes of the graph. A default run
# (3 h at 10-s steps, 36 nodes) is ~39,000 and takes ~0.2-0.5 s; ten times that is a heavy run.
HEAVY_COST = 400_000.0
STOPPED_S = 1.0         # a worker seen stopped (SIGSTOP) this long is hung, deadline or not
CHECK_S = 0.25          # how often a caller waiting for its answer looks at the worker process
WARM_TIMEOUT_S = 120.0  # a worker still warming up after this long is hung
MAX_DEATHS = 3          # more deaths than this within DEATH_WINDOW_S rest the worker for COOLDOWN_S
DEATH_WINDOW_S = 60.0
COOLDOWN_S = 60.0
BIG_JOB = 32 * 1024     # a job this large is sent from a thread: a stopped worker does not empty its pipe
WARM_UP: Callable[[], Any] | None = None    # a worker's first job; None: viz.runs.warm (tests: a cheaper one)

log = logging.getLogger(__name__)


class WorkerLost(RuntimeError):
    """The worker process died, was killed or hung while it ran this job: neither the run's own error
    nor its time budget (`sim.OverBudget`), so the visitor is told so. `detail` is a clause such as
    "the simulation worker was killed by signal SIGKILL"; `restarted` is False while the worker is
    resting after repeated deaths (runs go on in this process meanwhile)."""

    def __init__(self, detail: str, restarted: bool = True) -> None:
        then = "a new worker has been started" if restarted else "runs go on in the server process for a while"
        super().__init__(f"{detail}; {then}")
        self.detail, self.restarted = detail, restarted

    def __reduce__(self) -> tuple:
        return WorkerLost, (self.detail, self.restarted)


def workers() -> int:
    """Worker processes to use: `LIGHTS_OUT_WORKERS`, else 1 where this process may use ≥ 2 cores."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        try:
            return max(0, min(MAX_WORKERS, int(raw)))
        except ValueError:
            log.warning("%s=%r is not a whole number; using the default", WORKERS_ENV, raw)
    return 1 if usable_cores() >= 2 else 0


# ---- the worker process ----------------------------------------------------------------------------
def _serve(conn: Connection) -> None:
    """The worker's loop: one job at a time, `(fn, args, kwargs)` in, `("ok", value)` or
    `("err", exception, traceback text)` out. Ctrl-C is the server's business: the worker ends when
    its pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            fn, args, kwargs = pickle.loads(data)
            reply: tuple = ("ok", fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 — every error goes back to the caller
            reply = ("err", exc, traceback.format_exc())
        try:
            conn.send_bytes(_packed(reply))
        except OSError:     # the server went away
            return


def _packed(reply: tuple) -> bytes:
    """The reply as bytes; an answer that cannot be pickled (or an error that could not be unpickled
    there) becomes a RuntimeError saying so, rather than a worker that dies."""
    try:
        out = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        if reply[0] == "err":
            pickle.loads(out)
        return out
    except Exception as exc:  # noqa: BLE001
        what = f"{type(reply[1]).__name__}: {reply[1]}" if reply[0] == "err" else "its result"
        err = RuntimeError(f"the simulation worker could not send back {what} ({exc})")
        return pickle.dumps(("err", err, reply[2] if reply[0] == "err" else ""), pickle.HIGHEST_PROTOCOL)


class _RemoteTraceback(Exception):
    """The worker's traceback, chained to an error it sent back, for the server log."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0]).rstrip()


def _stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal (SIGSTOP, SIGTSTP): Linux's /proc, else never."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rpartition(b")")[2].split()[:1] == [b"T"]


def _context() -> Any:
    """forkserver (workers forked from a server that imported the model and charts once), else spawn."""
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


# ---- whose turn ------------------------------------------------------------------------------------
_arrivals = itertools.count()


@dataclass(eq=False)
class _Job:
    session: str            # "" for anonymous callers: they share one turn in the round-robin
    heavy: bool
    background: bool
    deadline: float | None
    compiled: bool = False  # it steps a large architecture: the worker readies the compiled step first
    arrival: int = field(default_factory=lambda: next(_arrivals))
    round: int = 0          # its session's turn in the round-robin (set by _Queue.add)


class _Queue:
    """Which waiting job gets the next free worker: urgent ones (what a visitor is looking at) before
    background ones (the rest of a run whose first minutes already play), light before heavy, then
    round-robin across sessions, then first come, first served.

    Round-robin as in fair queueing: within each class a session's jobs take rounds 0, 1, 2… but
    never below the round of the last job that got a worker, so a session that queued five jobs does
    not put them all before another session's first, and one idle for a while gets no credit. Not
    locked: the pool holds its lock while it uses this."""

    def __init__(self) -> None:
        self.waiting: list[_Job] = []
        self.now: dict[tuple[bool, bool], int] = {}                 # class → round of the last job started
        self.last: dict[tuple[bool, bool, str], int] = {}           # (class, session) → its latest round

    def add(self, job: _Job) -> None:
        cls = (job.background, job.heavy)
        job.round = max(self.now.get(cls, 0), self.last.get((*cls, job.session), -1) + 1)
        self.last[(*cls, job.session)] = job.round
        self.waiting.append(job)

    def first(self) -> _Job | None:
        return min(self.waiting, key=lambda j: (j.background, j.heavy, j.round, j.arrival), default=None)

    def remove(self, job: _Job) -> None:
        """A job that leaves without a worker (run here, or out of time) gives its round back."""
        if job in self.waiting:
            self.waiting.remove(job)
            key = (job.background, job.heavy, job.session)
            if self.last.get(key) == job.round:
                self.last[key] = job.round - 1

    def start(self, job: _Job) -> None:
        self.waiting.remove(job)
        cls = (job.background, job.heavy)
        self.now[cls] = max(self.now.get(cls, 0), job.round)
        if len(self.last) > 256:      # sessions come and go: a round behind `now` no longer matters
            self.last = {k: r for k, r in self.last.items() if r > self.now.get(k[:2], 0)}


# ---- the workers -----------------------------------------------------------------------------------
@dataclass(eq=False)
class _Worker:
    proc: Any                   # a multiprocessing Process
    conn: Connection
    ready: bool = False         # warmed up: takes jobs
    job: _Job | None = None     # the job it runs now
    retire: bool = False        # close it when its job is done (the number of workers changed)
    compiled: bool = False      # has readied the compiled step (sim.compiled.prepare)


class _Lost(Exception):
    """Internal: the worker died or hung while we waited for it (`detail` says how)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_HERE = None        # _Pool.take's answer "run it in this process"
_WAIT = object()


def _reap(w: _Worker) -> None:
    """Kill a worker (SIGKILL works on a stopped one too) and collect its exit. Its exit status is
    read once, from the fork server's pipe: a second reader at the same moment would see 255."""
    try:
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join(5)
    except (OSError, ValueError, AssertionError):   # already closed, or not our child any more
        pass
    w.conn.close()


def _how_it_ended(proc: Any) -> str:
    proc.join(1)
    code = proc.exitcode
    if code is None:
        return "the simulation worker stopped responding"
    if code < 0:
        try:
            return f"the simulation worker was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"the simulation worker was killed by signal {-code}"
    return f"the simulation worker exited with code {code}"


class _Pool:
    """The worker processes and the jobs waiting for them; one lock (`cv`) guards all of it, and no
    pipe is read or written while it is held."""

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.workers: list[_Worker] = []
        self.queue = _Queue()
        self.size = 0                   # workers wanted
        self.starting = 0               # starter threads that have not yet listed their worker
        self.gen = 0                    # bumped by shutdown(): older threads' news is ignored
        self.started_once = False       # a worker process started since shutdown()
        self.unusable = -1              # a size for which no worker could start at all: run here
        self.deaths = 0
        self.recent: collections.deque[float] = collections.deque()
        self.paused_until = 0.0

    # -- under self.cv ------------------------------------------------------------------------------
    def _ensure(self, size: int) -> list[_Worker]:
        """Start workers until `size` exist or are starting (not while resting); returns idle ones
        to close when the size changed, for the caller to reap outside the lock."""
        closing: list[_Worker] = []
        if size != self.size:
            for w in self.workers:
                if w.job is None:
                    closing.append(w)
                else:
                    w.retire = True
            self.workers = [w for w in self.workers if w not in closing]
            self.size = size
        now = time.monotonic()
        if self.unusable == size or now < self.paused_until:
            return closing
        if self.paused_until:
            self.paused_until = 0.0
            log.warning("cool-down over: starting the simulation worker again (%s)", self._status())
        missing = size - sum(1 for w in self.workers if not w.retire) - self.starting
        for _ in range(max(0, missing)):
            self.starting += 1
            threading.Thread(target=self._start, args=(self.gen,), name="lights-out-worker-start",
                             daemon=True).start()
        return closing

    def _decide(self, job: _Job) -> Any:
        """A worker for `job`, _HERE or _WAIT."""
        ready = [w for w in self.workers if w.ready and not w.retire]
        if not ready:
            return _HERE            # starting, resting or gone: do not wait for it
        if not job.background and not job.heavy and all(w.job is not None and w.job.heavy for w in ready):
            return _HERE            # a visitor's light run never waits behind heavy work: this core is free
        if self.queue.first() is job:
            for w in ready:
                if w.job is None:
                    return w
        return _WAIT

    def _died(self, detail: str) -> bool:
        """Count a death and start a replacement; False if the worker is resting instead."""
        now = time.monotonic()
        self.deaths += 1
        self.recent.append(now)
        while self.recent and self.recent[0] < now - DEATH_WINDOW_S:
            self.recent.popleft()
        if len(self.recent) > MAX_DEATHS:
            self.paused_until = now + COOLDOWN_S
            self.recent.clear()
            log.warning("%s: %d deaths within %g s, so simulations run in the server process for %g s (%s)",
                        detail, MAX_DEATHS + 1, DEATH_WINDOW_S, COOLDOWN_S, self._status())
            return False
        log.warning("%s: starting a new one (%s)", detail, self._status())
        for w in self._ensure(self.size):
            threading.Thread(target=_reap, args=(w,), daemon=True).start()
        return True

    def _status(self) -> dict:
        now = time.monotonic()
        return {
            "workers": self.size,
            # the sentinel, not is_alive(): that reads the exit status, which must be read once (see _reap)
            "alive": sum(1 for w in self.workers if not wait_any([w.proc.sentinel], 0)),
            "ready": sum(1 for w in self.workers if w.ready),
            "busy": sum(1 for w in self.workers if w.job is not None),
            "waiting": len(self.queue.waiting),
            "starting": self.starting,
            "deaths": self.deaths,
            "paused_until": self.paused_until if self.paused_until > now else None,
            "pids": [w.proc.pid for w in self.workers],
        }

    # -- without the lock ---------------------------------------------------------------------------
    def _start(self, gen: int) -> None:
        """Start one worker and warm it up (a thread: starting the fork server blocks on its imports)."""
        try:
            import viz.runs  # noqa: PLC0415 — the warm-up's target must be importable here too

            ctx = _context()
            conn, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child,), name="lights-out-worker", daemon=True)
            proc.start()
            child.close()
        except Exception as exc:  # noqa: BLE001 — no /dev/shm, no fork server, no memory…
            with self.cv:
                if gen == self.gen:
                    self.starting -= 1
                    if not self.started_once:
                        self.unusable = self.size       # as before: this setting runs here for good
                        log.warning("no worker process (%s): simulations run in the server process", exc)
                    else:
                        self._died(f"a new simulation worker could not be started ({exc})")
                    self.cv.notify_all()
            return
        w = _Worker(proc, conn)
        with self.cv:
            current = gen == self.gen
            if current:
                self.starting -= 1
                self.started_once = True
                self.workers.append(w)
        if not current:
            _reap(w)
            return
        try:
            reply = pickle.loads(self._exchange(w, pickle.dumps((WARM_UP or viz.runs.warm, (), {})),
                                                time.monotonic() + WARM_TIMEOUT_S))
            if reply[0] != "ok":
                raise reply[1]
        except _Lost as lost:
            self._lose(w, lost.detail + " while warming up")
            return
        except Exception as exc:  # noqa: BLE001 — a worker that cannot warm up may not run jobs right
            self._lose(w, f"the simulation worker failed to warm up ({exc})")
            return
        with self.cv:
            w.ready = True
            self.cv.notify_all()

    def take(self, job: _Job, size: int) -> _Worker | None:
        """A worker that will run `job`, or None: run it here. Waits for its turn; raises
        `sim.OverBudget` if the deadline passes first."""
        with self.cv:
            closing = self._ensure(size)
            self.queue.add(job)
            self.cv.notify_all()
            try:
                while True:
                    where = self._decide(job)
                    if where is not _WAIT:
                        if where is _HERE:
                            self.queue.remove(job)
                        else:
                            where.job = job
                            self.queue.start(job)
                        return where
                    left = None if job.deadline is None else job.deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise sim.OverBudget("still waiting for the simulation worker at the deadline")
                    self.cv.wait(left)
            finally:
                self.queue.remove(job)
                self.cv.notify_all()        # the queue changed: the next in line may go
                for w in closing:
                    threading.Thread(target=_reap, args=(w,), daemon=True).start()

    def run(self, w: _Worker, job: _Job, fn: Callable[..., Any], args: tuple) -> Any:
        """`fn(*args, deadline=...)` in worker `w` (taken for `job`), with its errors re-raised here."""
        if job.compiled and not w.compiled:
            try:
                self._prepare(w, job)
            except _Lost as lost:
                restarted = self._lose(w, lost.detail + " while readying the compiled step")
                if job.deadline is not None and job.deadline <= time.monotonic():
                    raise WorkerLost(lost.detail, restarted) from None
                return fn(*args, deadline=job.deadline)
        try:
            data = pickle.dumps((fn, args, {"deadline": job.deadline}), pickle.HIGHEST_PROTOCOL)
        except BaseException:
            self._free(w)
            raise
        end = None if job.deadline is None else job.deadline + GRACE_S
        try:
            raw = self._exchange(w, data, end)
        except _Lost as lost:
            restarted = self._lose(w, lost.detail)
            if job.deadline is not None and job.deadline <= time.monotonic():
                raise WorkerLost(lost.detail, restarted) from None
            log.warning("running here the job the worker did not finish")
            try:
                return fn(*args, deadline=job.deadline)
            except sim.OverBudget as exc:       # the budget went on the dead worker, not on the run
                raise WorkerLost(lost.detail, restarted) from exc
        self._free(w)
        try:
            reply = pickle.loads(raw)
        except Exception as exc:
            raise RuntimeError(f"the simulation worker's answer could not be read ({exc})") from exc
        if reply[0] == "ok":
            return reply[1]
        err = reply[1]
        if reply[2]:
            err.__cause__ = _RemoteTraceback(reply[2])
        raise err

    def _prepare(self, w: _Worker, job: _Job) -> None:
        """The first large architecture's job on this worker: numba imported and the compiled step
        loaded from its cache (under a second) or compiled (about ten seconds, once after a deploy),
        under WARM_TIMEOUT_S like a warm-up. Workers do it only when needed: numba takes 100+ MB. The
        job's deadline moves by the time it took: it is not the run's cost."""
        start = time.monotonic()
        reply = pickle.loads(self._exchange(w, pickle.dumps((compiled_step.prepare, (), {})),
                                            start + WARM_TIMEOUT_S))
        if reply[0] != "ok":        # prepare() never raises; a worker that cannot is no worse than numpy
            log.warning("the simulation worker could not ready the compiled step: %s", reply[1])
        w.compiled = True
        if job.deadline is not None:
            job.deadline += time.monotonic() - start

    def _exchange(self, w: _Worker, data: bytes, end: float | None) -> bytes:
        """Send one job and wait for its answer; `_Lost` if the worker dies, is stopped for STOPPED_S,
        or is silent past `end` (a monotonic time; None: no limit)."""
        try:
            if len(data) > BIG_JOB:
                threading.Thread(target=_send_quietly, args=(w.conn, data), daemon=True).start()
            else:
                w.conn.send_bytes(data)
        except OSError:
            raise _Lost(_how_it_ended(w.proc)) from None
        stopped_since = None
        while True:
            now = time.monotonic()
            if end is not None and now >= end:
                raise _Lost("the simulation worker stopped responding")
            try:
                ready = wait_any([w.conn, w.proc.sentinel], CHECK_S if end is None else min(CHECK_S, end - now))
            except (OSError, ValueError):       # closed by shutdown() in another thread
                raise _Lost(_how_it_ended(w.proc)) from None
            if w.conn in ready:
                try:
                    return w.conn.recv_bytes()
                except (EOFError, OSError):
                    raise _Lost(_how_it_ended(w.proc)) from None
            if ready:
                raise _Lost(_how_it_ended(w.proc))
            if not _stopped(w.proc.pid):
                stopped_since = None
            elif stopped_since is None:
                stopped_since = now
            elif now - stopped_since >= STOPPED_S:
                raise _Lost("the simulation worker was halted by a stop signal")

    def _free(self, w: _Worker) -> None:
        with self.cv:
            w.job = None
            close = w.retire or w not in self.workers
            if close and w in self.workers:
                self.workers.remove(w)
            self.cv.notify_all()
        if close:
            _reap(w)

    def _lose(self, w: _Worker, detail: str) -> bool:
        """Kill and forget a worker that died or hung, and replace it; False if resting instead."""
        _reap(w)
        with self.cv:
            w.job = None
            restarted = True
            if w in self.workers:
                self.workers.remove(w)
                restarted = self._died(detail)
            self.cv.notify_all()
        return restarted

    def wait_ready(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            size = workers()
            if size == 0:
                return False
            with self.cv:
                closing = self._ensure(size)
                ready = any(w.ready and not w.retire for w in self.workers)
            for w in closing:
                _reap(w)
            if ready or time.monotonic() >= end:
                return ready
            time.sleep(0.05)

    def shutdown(self) -> None:
        with self.cv:
            self.gen += 1
            gone, self.workers = self.workers, []
            self.size = self.starting = self.deaths = 0
            self.started_once, self.unusable, self.paused_until = False, -1, 0.0
            self.recent.clear()
            self.cv.notify_all()
        for w in gone:
            _reap(w)


def _send_quietly(conn: Connection, data: bytes) -> None:
    try:
        conn.send_bytes(data)
    except OSError:     # the worker died: the caller watching it says so
        pass


_pool = _Pool()


# ---- the public face -------------------------------------------------------------------------------
def call(fn: Callable[..., Any], *args: Any, deadline: float | None = None, background: bool = False,
         session: str | None = None, cost: float = 1.0, compiled: bool = False) -> Any:
    """`fn(*args, deadline=deadline)` in the worker process when one is ready, else here.

    `deadline` is a `time.monotonic()` value (the same clock in every process on one machine): the
    run stops itself there with `sim.OverBudget`, as does a run still waiting for its turn then. A
    worker that dies, is stopped, or has not answered GRACE_S after the deadline is killed and
    replaced; the run is then done here if time is left, else `WorkerLost` is raised. `background`
    runs wait while urgent ones are waiting; `session` (a Streamlit session id; None: anonymous) and
    `cost` (simulated steps × nodes; above HEAVY_COST a run is heavy) make the turns fair, and a light
    urgent run goes on here rather than wait behind heavy work. `compiled`: the run steps a large
    architecture (sim.compiled.wanted), so a worker that has not yet readied the compiled step does
    that first, and the deadline moves by the time it took. Exceptions raised by `fn` reach the
    caller unchanged.
    """
    size = workers()
    if size == 0:
        return fn(*args, deadline=deadline)
    job = _Job(session or "", cost > HEAVY_COST, background, deadline, compiled)
    w = _pool.take(job, size)
    if w is None:
        return fn(*args, deadline=deadline)
    return _pool.run(w, job, fn, args)


def wait_ready(timeout: float = 60.0) -> bool:
    """Start the worker if needed and wait until it takes runs (tests and benchmarks)."""
    return _pool.wait_ready(timeout)


def status() -> dict:
    """The workers at a glance (tests, logs): wanted, alive, ready, busy, waiting jobs, starting,
    deaths since shutdown(), paused_until (a monotonic time while resting, else None), pids."""
    with _pool.cv:
        return _pool._status()


def shutdown() -> None:
    """Stop the workers and forget past deaths and cool-downs (tests)."""
    _pool.shutdown()


__all__ = ["call", "workers", "wait_ready", "status", "shutdown", "WorkerLost", "WORKERS_ENV", "HEAVY_COST"]
