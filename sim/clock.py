"""Timers as data, fired by SimPy: the scheduling under the facility, the servers and the steps.

Why not SimPy processes: a process is a Python generator, which cannot be copied or pickled, so a
run built from processes can only be resumed by replaying it from minute 0. Here every pending
timer is a plain tuple (due time, priority, handler name, arguments) in `Clock.st`, and SimPy only
fires it at its time. A whole run's state is then plain data (sim.simulation saves it with one
pickle), and `rebuild` re-arms the pending timers in a fresh environment in the order they were
made, so same-instant events keep their order and a resumed run equals a full one.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any, Callable

import simpy
from simpy.events import Event

NORMAL = 1          # simpy.events.NORMAL: facility changes, boots
URGENT = 0          # before NORMAL events at the same instant (what a new SimPy process does first)
AFTER = 2           # after every ordinary event at the same instant: the step that reads them


class State(SimpleNamespace):
    """A component's state: plain, picklable data and nothing else (sim.simulation saves it whole)."""


class Clock:
    """SimPy's event queue with timers kept as data. Components register handlers by name."""

    def __init__(self, env: simpy.Environment | None = None) -> None:
        self.env = env if env is not None else simpy.Environment()
        self.handlers: dict[str, Callable[..., None]] = {}
        self.st = State(pending={}, seq=0)

    @property
    def now(self) -> float:
        return float(self.env.now)

    def register(self, name: str, handler: Callable[..., None]) -> None:
        self.handlers[name] = handler

    def after(self, delay: float, name: str, *args: Any, priority: int = NORMAL) -> int:
        """Call handler `name`(*args) `delay` seconds from now; returns a token to cancel it."""
        token = self.st.seq
        self.st.seq += 1
        due = self.now + max(0.0, float(delay))
        self.st.pending[token] = (due, priority, name, args)
        self._arm(token, due, priority)
        return token

    def cancel(self, token: int | None) -> None:
        if token is not None:
            self.st.pending.pop(token, None)

    def is_pending(self, token: int | None) -> bool:
        return token is not None and token in self.st.pending

    def _arm(self, token: int, due: float, priority: int) -> None:
        event = Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(functools.partial(self._fire, token))
        self.env.schedule(event, priority, due - self.now)  # type: ignore[arg-type]

    def _fire(self, token: int, _event: Event) -> None:
        timer = self.st.pending.pop(token, None)
        if timer is not None:
            self.handlers[timer[2]](*timer[3])

    def call_at(self, t_s: float, callback: Callable[[], None], priority: int = NORMAL) -> None:
        """A one-off callback that is not state (a scenario's intervention boundaries, a step)."""
        event = Event(self.env)
        event._ok = True
        event._value = None
        event.callbacks.append(lambda _e: callback())
        self.env.schedule(event, priority, max(0.0, t_s - self.now))  # type: ignore[arg-type]

    def run_until(self, t_s: float) -> None:
        """Process every event up to and including time t_s (those of priority below AFTER at t_s),
        then stand at t_s. Steps SimPy's queue directly: a stop event and `env.run(until=…)` for
        each of a run's thousand steps cost more than the events themselves (SimPy 4.1 internals:
        `_queue` holds (time, priority, id, event), `_now` the clock)."""
        env = self.env
        queue, step = env._queue, env.step
        while queue and (queue[0][0] < t_s or (queue[0][0] == t_s and queue[0][1] < AFTER)):
            step()
        env._now = t_s

    def rebuild(self, now: float, first: Callable[[], None] | None = None) -> None:
        """A fresh environment at `now`: `first()` schedules what a run schedules before any timer
        (its intervention boundaries), then every pending timer is re-armed in the order it was made."""
        self.env = simpy.Environment(initial_time=now)
        if first is not None:
            first()
        for token in sorted(self.st.pending):
            due, priority, _, _ = self.st.pending[token]
            self._arm(token, due, priority)


def after_facility(env: simpy.Environment, delay: float) -> Event:
    """A timeout processed after every ordinary event at the same instant (priority AFTER), for a
    SimPy process that reads what happened at its own time (the request-level reference's steps)."""
    event = Event(env)
    event._ok = True
    event._value = None
    env.schedule(event, AFTER, delay)  # type: ignore[arg-type]
    return event


__all__ = ["Clock", "State", "NORMAL", "URGENT", "AFTER", "after_facility"]
