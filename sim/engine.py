"""SimPy wiring: run(scenario) → Timeline.

The facility's processes change power; boot processes bring servers back after power returns;
a step process (every `step_s`, after any facility change at the same instant) advances the
traffic model and records metrics, node states and state changes with their causes.
"""

from __future__ import annotations

import math
import random
import time

import networkx as nx
import simpy

from . import mechanisms as m
from .architecture import default_architecture
from .checkpoint import Checkpoint, same_past_until
from .power import Facility
from .scenario import Scenario
from .servers import AfterFacility, ServerGroups
from .states import Classifier
from .timeline import METRIC_NAMES, Event, Milestone, Timeline, clock
from .traffic import TrafficModel

VIEWS_START = 10_000.0              # the sample creator's views before the run
SAMPLE_VIEWS_PER_S = 1.0            # the sample creator's views per second in normal times
USD_PER_VIEW = 0.004                # [assumption] $4 per 1,000 views
NOISE = 0.02                        # [assumption] ±2 % step-to-step demand noise (seeded)
BASE_REPEAT = 0.02                  # repeats in a healthy personalised feed [assumption]
BACKLOG_MARK = 1000.0               # events: a backlog worth a "Counters caught up" milestone
CONSUMER_HEADROOM = 0.9             # a log consumer pulls at most this share of its capacity


DEADLINE_EVERY = 32                 # steps between two looks at the clock when a deadline is set


class OverBudget(RuntimeError):
    """A run passed its `deadline` and was abandoned (a thread cannot be killed, so the run stops itself)."""


def run(scenario: Scenario, graph: nx.DiGraph | None = None, *, deadline: float | None = None,
        checkpoint_every: int = 0, resume: tuple[Timeline, Checkpoint] | None = None) -> Timeline:
    """Simulate one scenario on an architecture (the default one if None). Deterministic.

    `deadline` (a `time.monotonic()` value) makes the run raise `OverBudget` once it is passed; it
    never changes a run that finishes in time. `checkpoint_every` > 0 keeps a Checkpoint every that
    many steps in `Timeline.checkpoints`. `resume=(timeline, checkpoint)` starts from a checkpoint
    of an earlier run on the same graph whose past is this scenario's (sim.checkpoint): the result
    is the same as without it, only sooner.
    """
    g = graph if graph is not None else default_architecture()
    if resume is not None:
        base, cp = resume
        if base.graph is not g or not any(c is cp for c in base.checkpoints):
            raise ValueError("resume: the checkpoint is not of a run on this architecture")
        if not cp.step < scenario.steps or not cp.t_s < same_past_until(base.scenario, scenario):
            raise ValueError(f"resume: the scenario's past differs from the run's before {clock(cp.t_s)}")
    return _Run(scenario, g, deadline, checkpoint_every, resume).result()


class _Run:
    def __init__(self, s: Scenario, g: nx.DiGraph, deadline: float | None = None, checkpoint_every: int = 0,
                 resume: tuple[Timeline, Checkpoint] | None = None) -> None:
        self.s, self.g, self.deadline = s, g, deadline
        self.every, self.resume = checkpoint_every, resume
        self.checkpoints: list[Checkpoint] = (
            [c for c in resume[0].checkpoints if c.step <= resume[1].step] if resume else [])
        self.env = simpy.Environment()
        self.rng = random.Random(f"{s.seed}:boot")          # boot-time jitter
        self.noise_rng = random.Random(f"{s.seed}:demand")  # step-to-step demand noise
        self.model = TrafficModel(g, s)
        self.classifier = Classifier(g, self.model)
        self.events: list[Event] = []
        self.milestones: list[Milestone] = []
        self._ms_seen: set[str] = set()
        self.servers = ServerGroups(self.env, g, self.rng, self._servers_lost)
        self.facility = Facility(self.env, s, g.graph["halls"], self.rng, self._on_facility, self._on_hall)
        # Records.
        self.t_s: list[float] = []
        self.metrics: dict[str, list[float]] = {k: [] for k in METRIC_NAMES}
        self.states: list[list[int]] = []
        self.edge_fail: list[list[float]] = []
        # Story state.
        self.backlog = 0.0
        self.views_true = VIEWS_START
        self.last_views_shown = VIEWS_START
        self.last_earn_shown = VIEWS_START * USD_PER_VIEW
        self.was_harmed = False
        feed = g.nodes["for_you_feed"] if "for_you_feed" in g else {}
        self.pool_repeat = m.pool_repeat_rate(s.feed_pool_size, feed.get("repeat_session", 50))
        self.recovered_once = False
        self.backlog_built_up = False     # a backlog worth announcing the end of has built up
        self.env.process(self._steps())
        if s.shed_load_min is not None and not s.load_shedding:
            self.env.process(self._operator_shed(s.shed_load_min * 60.0))
        self.shedding = s.load_shedding
        self.pace: dict[int, float] = {}  # log consumers' pace (share of their pull rate)

    # ---- facility callbacks -------------------------------------------------------------
    def _on_facility(self, t: float, who: str, state: str, cause: str) -> None:
        if who.startswith("hall:"):
            node = self.g.graph["pdu_of_hall"][who[5:]]
        else:
            node = self.g.graph["facility"].get(who)
        if node is None:
            return
        self.classifier.set_facility(node, state, cause, t)
        if who == "utility":
            self._milestone(t, "Power cut" if state == "down" else "Power restored", repeat=True)
        elif who == "generator" and state == "down":
            self._milestone(t, "Generators fail to start")
        elif who == "generator" and state == "up" and cause.startswith("carrying"):
            self._milestone(t, "Generators carry the load", repeat=True)
        elif who == "ups" and state == "down":
            self._milestone(t, "UPS exhausted")
        elif who.startswith("hall:") and state == "down" and "overheated" in cause:
            self._milestone(t, f"{self.g.graph['halls'][who[5:]]['label']} overheated")

    def _on_hall(self, hall: str, on: bool, cause: str) -> None:
        for node in self.servers.on_hall(hall, on):
            self.classifier.hall_cause[node] = cause

    def _servers_lost(self, node: str, share: float) -> None:
        """A cache that loses power loses its contents (share = part of its servers lost)."""
        i = self.model.idx.get(node)
        if i is not None and self.model.is_cache[i]:
            self.model.lose_cache(i, share)

    def _operator_shed(self, at: float):
        yield self.env.timeout(at)
        self.shedding = True
        if self.was_harmed:                  # only worth marking when there is something to recover from
            self._milestone(self.env.now, "Operators shed load")

    def _milestone(self, t: float, label: str, repeat: bool = False) -> None:
        if not repeat and label in self._ms_seen:
            return
        self._ms_seen.add(label)
        self.milestones.append(Milestone(float(t), label))

    # ---- the step process ---------------------------------------------------------------
    def _steps(self):
        s, model = self.s, self.model
        dt = s.step_s
        avail_vec = [1.0] * model.n
        avail: dict[str, float] = {}
        booting: dict[str, bool] = {}
        consumers = [(model.class_of[r], model.idx[r]) for r in model.consumers]
        start = self.resume[1].step if self.resume else -1
        for k in range(s.steps + 1):
            if self.deadline is not None and k % DEADLINE_EVERY == 0 and time.monotonic() > self.deadline:
                raise OverBudget(f"stopped at simulated {clock(self.env.now)} of {clock(s.steps * dt)}")
            if k:
                yield AfterFacility(self.env, dt)
                self.facility.advance(dt)
            t = self.env.now
            if k < start:                    # the checkpoint's past: power and servers only
                self.noise_rng.random()
                continue
            if k == start and self.resume is not None:
                self._restore(*self.resume)
                self.servers.dirty = True    # availability as the resumed run had it at this step
            if self.servers.dirty:
                self.servers.dirty = False
                avail = self.servers.availability()
                booting = self.servers.booting_nodes(lambda h: self.facility.halls[h].on)
                for node, share in avail.items():
                    i = model.idx.get(node)
                    if i is not None:
                        avail_vec[i] = share
            scale = s.load * (1.0 + NOISE * (self.noise_rng.random() * 2.0 - 1.0))
            if k == start:
                continue
            demand = model.normal_demand(scale)
            if consumers:
                cap = model.capacity_for(avail_vec)
                event_rate = self._event_rate_estimate(scale)
                for c, i in consumers:
                    # A consumer whose writes fail slows down (it blocks on the failed batch) and
                    # speeds up gradually as they succeed again.
                    ok = model.succ[c * model.n + i] * model.own_ok[i] if k else 1.0
                    self.pace[c] = min(1.0, max(0.05, 0.7 * self.pace.get(c, 1.0) + 0.3 * ok))
                    demand[c] = min(event_rate + self.backlog / dt, CONSUMER_HEADROOM * cap[i]) * self.pace[c]
            model.step(dt if k else 1.0, avail_vec, demand, self.shedding, s.circuit_breaker)
            self._record(t, dt, scale, avail, booting, demand)
            if self.every and k and k % self.every == 0 and k < s.steps:
                self.checkpoints.append(self._checkpoint(k, t))

    # ---- checkpoints ----------------------------------------------------------------------
    _STORY = ("backlog", "views_true", "last_views_shown", "last_earn_shown", "was_harmed", "recovered_once",
              "backlog_built_up", "shedding")

    def _checkpoint(self, k: int, t: float) -> Checkpoint:
        story = {name: getattr(self, name) for name in self._STORY}
        story.update(pace=dict(self.pace), ms_seen=frozenset(self._ms_seen))
        return Checkpoint(k, float(t), self.model.state(), self.classifier.state(), story,
                          tuple(self.events), tuple(self.milestones))

    def _restore(self, base: Timeline, cp: Checkpoint) -> None:
        """Take over the state after step cp.step; the records up to it are the base run's."""
        self.model.set_state(cp.model)
        self.classifier.set_state(cp.classifier)
        for name in self._STORY:
            setattr(self, name, cp.story[name])
        self.pace, self._ms_seen = dict(cp.story["pace"]), set(cp.story["ms_seen"])
        self.events, self.milestones = list(cp.events), list(cp.milestones)
        n = cp.step + 1
        self.t_s = base.t_s[:n]
        self.metrics = {name: base.metrics[name][:n] for name in METRIC_NAMES}
        self.states = base.node_states[:n]
        self.edge_fail = base.edge_fail[:n]

    def _event_rate_estimate(self, scale: float) -> float:
        """View events produced per second: plays that start write one event each."""
        watch = self.metrics["watch_success"][-1] if self.metrics["watch_success"] else 1.0
        return self.model.event_rate(scale) * watch

    def _record(self, t: float, dt: float, scale: float, avail: dict[str, float], booting: dict[str, bool],
                demand: list[float]) -> None:
        model, s = self.model, self.s
        first = not self.t_s
        ok = {r: model.class_success(r) for r in model.class_ids if r not in model.consumers}

        def feature(name: str, default: float = 1.0) -> float:
            return ok.get(name, default)

        # Durable log: events produced vs applied by the consumer(s) → backlog, never lost.
        produced = self._event_rate_estimate(scale) if not first else 0.0
        applied = 0.0
        for r in model.consumers:
            applied += demand[model.class_of[r]] * model.class_success(r) * model.own_ok[model.idx[r]]
        if not first:
            self.backlog = max(0.0, self.backlog + (produced - applied) * dt)
        watch = feature("watch_videos")
        sample = SAMPLE_VIEWS_PER_S / max(model.event_rate(1.0), 1e-9)
        if not first:
            self.views_true += produced * sample * dt
        counted = self.views_true - self.backlog * sample
        views_shown, self.last_views_shown = _displayed(counted, feature("view_counts"), s.counter_fallback,
                                                        self.last_views_shown)
        earn_true = self.views_true * USD_PER_VIEW
        earn_shown, self.last_earn_shown = _displayed(counted * USD_PER_VIEW, feature("creator_earnings"),
                                                      s.counter_fallback, self.last_earn_shown)
        feed_ok = feature("for_you_feed")
        has_feed = "for_you_feed" in ok
        # Personalisation: share of feed requests answered with a personalised feed. Repeats: among
        # the feeds that are served, the generic ones repeat the popular pool.
        pers = model.class_quality("for_you_feed") if has_feed else 1.0
        pers_served = min(1.0, pers / feed_ok) if has_feed and feed_ok > 1e-9 else 0.0
        repeat = (pers_served * BASE_REPEAT + (1.0 - pers_served) * self.pool_repeat) if has_feed else 0.0
        load_time = model.class_latency("for_you_feed") if "for_you_feed" in ok else 0.0
        row = {
            "login_success": feature("login"),
            "upload_success": feature("upload_video"),
            "feed_personalization": pers,
            "feed_repeat_rate": repeat,
            "feed_success": feed_ok,
            "watch_success": watch,
            "views_true": self.views_true,
            "views_displayed": views_shown,
            "earnings_true": earn_true,
            "earnings_displayed": earn_shown,
            "feed_load_time_s": load_time,
            "retry_amplification": model.retry_amplification(),
            "backlog_events": self.backlog,
            "utility_power": 1.0 if self.facility.utility_on else 0.0,
            "halls_powered": self.facility.halls_on_share(),
            "hall_temp_c": self.facility.hottest_c(),
        }
        self.t_s.append(float(t))
        for name in METRIC_NAMES:
            value = row[name]
            self.metrics[name].append(value if value != value else round(value, 6))
        codes, changes = self.classifier.classify(t, avail, booting, self.backlog)
        self.states.append(codes)
        self.events.extend(changes)
        self.edge_fail.append(self.classifier.edge_failures())
        self._story_milestones(t, row)

    def _story_milestones(self, t: float, row: dict[str, float]) -> None:
        users_ok = all(row[k] >= 0.95 for k in ("login_success", "upload_success", "feed_success"))
        harmed = not users_ok or row["feed_personalization"] < 0.9
        if harmed:
            self.was_harmed = True
            self.recovered_once = False
        elif self.was_harmed and not self.recovered_once:
            self.recovered_once = True
            self._milestone(t, "Recovered", repeat=True)
        if self.backlog > BACKLOG_MARK:
            self.backlog_built_up = True
        elif self.backlog_built_up and self.backlog < 1.0 and "Recovered" in self._ms_seen:
            self.backlog_built_up = False
            self._milestone(t, "Counters caught up", repeat=True)

    def result(self) -> Timeline:
        self.env.run(until=self.s.steps * self.s.step_s + 0.5 * self.s.step_s)
        self.events.sort(key=lambda e: e.t_s)
        self.milestones.sort(key=lambda ms: ms.t_s)
        return Timeline(
            scenario=self.s, graph=self.g, t_s=self.t_s, metrics=self.metrics,
            node_ids=self.classifier.node_ids, node_states=self.states,
            edge_ids=self.classifier.edge_ids, edge_fail=self.edge_fail,
            events=self.events, milestones=self.milestones, checkpoints=self.checkpoints,
        )


def _displayed(counted: float, read_ok: float, fallback: str, last_shown: float) -> tuple[float, float]:
    """What a counter shows, averaged over screens: the real value where the read succeeds,
    else the fallback — 0, hidden (NaN) or the last value shown. Returns (shown, last_known)."""
    if read_ok >= 0.995:
        return counted, counted
    if fallback == "zero":
        return read_ok * counted, last_shown
    if fallback == "hide":
        return (counted if read_ok >= 0.5 else math.nan), (counted if read_ok >= 0.5 else last_shown)
    shown = read_ok * counted + (1.0 - read_ok) * last_shown
    return shown, (counted if read_ok >= 0.5 else last_shown)


__all__ = ["run", "clock", "OverBudget"]
