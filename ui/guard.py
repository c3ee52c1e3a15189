"""Simulations under a time budget, for the pages: a fault becomes one plain sentence, never a traceback.

Why cooperative: a Python thread cannot be killed, so a runaway run abandoned by a worker pool would
keep a core busy (on a container shared by a whole class) long after its visitor gave up. Instead
`sim.run(deadline=...)` stops itself. The deadline reaches it through a context variable set by
`attempt`, so ui/runner.py's calls keep their plain signatures (the deadline is no part of a cache
key), and the runner, which never keeps an exception, keeps only good runs.

Test-only fault injection: `LIGHTS_OUT_FAULT="raise"` makes every run raise; `"hang"` makes it stall
(until the budget runs out, or until the variable is changed); `"raise:seed=7"` or
`"hang:actions!=()"` only for scenarios whose field prints (or does not print) as that value, or
`"hang:actions~start_min=1"` whose field's text contains that text;
several rules are separated by ";". `LIGHTS_OUT_SIM_BUDGET_S` sets the budget (default 15 s).
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar
from string import Template
from typing import Callable, Iterator, TypeVar

import networkx as nx

import sim
from sim.sweep import KNOBS, SweepResult
from ui import pool
from viz.whatif import escape_md, sections

T = TypeVar("T")
BUDGET_ENV, FAULT_ENV = "LIGHTS_OUT_SIM_BUDGET_S", "LIGHTS_OUT_FAULT"
DEFAULT_BUDGET_S = 15.0   # a default run: ~0.3-0.6 s; the longest allowed (24 h at 1-s steps): 32 s on a busy machine
TEXT = sections("faults.md")
log = logging.getLogger(__name__)
_deadline: ContextVar[float | None] = ContextVar("lights_out_deadline", default=None)
_background: ContextVar[bool] = ContextVar("lights_out_background", default=False)


def budget_s() -> float:
    try:
        return max(0.1, float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_S)))
    except ValueError:
        return DEFAULT_BUDGET_S


def text(name: str, **values: object) -> str:
    """A message from assets/faults.md with its $placeholders filled."""
    return Template(TEXT[name]).safe_substitute({k: str(v) for k, v in values.items()})


class Refused(ValueError):
    """A request the runner will not start (too long a run, too big an experiment); the message
    says why and what would fit, in plain words."""


def run_here(scenario: sim.Scenario, graph: nx.DiGraph | None = None) -> sim.Timeline:
    """`sim.run` in this process, stopping at the deadline of the enclosing `attempt` (if any).
    Pages reach it only through ui/runner.py."""
    _inject(scenario)
    return sim.run(scenario, graph, deadline=_deadline.get())


def compute(fn: Callable[..., T], scenario: sim.Scenario, *args: object, session: str | None = None,
            cost: float = 1.0, compiled: bool = False) -> T:
    """`fn(scenario, *args, deadline=...)` for the pages — a module-level view such as
    `viz.runs.player_view` — in the worker process when there is one (ui/pool.py), under the
    enclosing `attempt`'s deadline. `session` (who asked) and `cost` (simulated steps × nodes) keep
    the worker's turns fair between visitors (`pool.call`); `compiled`, that it steps a large
    architecture. Faults are injected here, in the server process, so tests that change the
    environment reach them."""
    _inject(scenario)
    return pool.call(fn, scenario, *args, deadline=_deadline.get(), background=_background.get(),
                     session=session, cost=cost, compiled=compiled)


@contextmanager
def background() -> Iterator[None]:
    """Runs computed inside wait while other visitors' urgent runs wait for the worker (the rest of
    a run whose first minutes are already playing)."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def attempt(compute: Callable[[], T], budget: float | None = None) -> tuple[T | None, str]:
    """(value, "") if `compute()` succeeds within the budget, else (None, why) in plain words.

    A nested attempt keeps the outer, earlier deadline. The traceback goes to the server log only.
    """
    budget = budget_s() if budget is None else budget
    outer = _deadline.get()
    token = _deadline.set(min(time.monotonic() + budget, outer if outer is not None else float("inf")))
    try:
        return compute(), ""
    except Refused as exc:          # said up front: nothing ran
        return None, text("refused", reason=escape_md(str(exc)))
    except sim.OverBudget:
        log.warning("simulation over its %.3g s budget", budget)
        return None, text("timeout", budget=f"{budget:g}")
    except pool.WorkerLost as exc:   # the process running it failed, not the run: say so, not "too long"
        log.warning("simulation lost with its worker: %s", exc)
        return None, text("worker" if exc.restarted else "worker_resting", detail=escape_md(exc.detail))
    except Exception as exc:  # noqa: BLE001 — a visitor sees a sentence, the log keeps the traceback
        log.exception("simulation failed")
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        return None, text("error", detail=escape_md(detail))
    finally:
        _deadline.reset(token)


def sweep_message(result: SweepResult, had_result: bool = False) -> str:
    """"" if every run of an experiment worked, else one message naming the runs that failed (and
    whether the experiment stopped early). `had_result`: a previous result is still on the page."""
    if not result.failed:
        return ""
    label = escape_md(KNOBS[result.knob].label if result.knob in KNOBS else result.knob)
    failed = [(f"{label} = {v:g}, seed {sd}", why) for v, sd, why in result.failed]
    total = len(result.values) * len(result.seeds)
    if not result.points:
        msg = text("sweep_kept" if had_result else "sweep_none", reason=failed[0][1])
    else:
        msg = text("sweep_some", count=len(failed), total=total, runs="; ".join(f"{r} ({w})" for r, w in failed))
    return msg + (" " + text("sweep_stopped", limit=len(failed)) if result.stopped else "")


# ---- test-only fault injection -------------------------------------------------------------------
def _rules() -> list[tuple[str, str]]:
    out = []
    for rule in os.environ.get(FAULT_ENV, "").split(";"):
        kind, _, cond = rule.strip().partition(":")
        if kind in ("raise", "hang"):
            out.append((kind, cond.strip()))
    return out


def _matches(s: sim.Scenario, cond: str) -> bool:
    if not cond:
        return True
    if "~" in cond and "=" not in cond.split("~", 1)[0]:     # FIELD~TEXT: the field's text contains TEXT
        field, _, value = cond.partition("~")
        return value.strip() in str(getattr(s, field.strip(), None))
    negate = "!=" in cond
    field, _, value = cond.partition("!=" if negate else "=")
    return (str(getattr(s, field.strip(), None)) == value.strip()) != negate


def _inject(s: sim.Scenario) -> None:
    for kind, cond in _rules():
        if not _matches(s, cond):
            continue
        if kind == "raise":
            raise RuntimeError("injected fault (a test asked for it)")
        rule = (kind, cond)
        while rule in _rules():  # a stalled run, as cooperative as the real one
            deadline = _deadline.get()
            if deadline is not None and time.monotonic() > deadline:
                raise sim.OverBudget("injected stall")
            time.sleep(0.05)


__all__ = ["attempt", "background", "compute", "run_here", "sweep_message", "text", "budget_s", "Refused",
           "DEFAULT_BUDGET_S", "BUDGET_ENV", "FAULT_ENV"]
