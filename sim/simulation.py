"""The steppable simulation: `Simulation(scenario, architecture).step()` advances one time step.

Shape (after Mesa's `Model.step()` + `DataCollector`): components — the clock (sim.clock), the
facility (sim.power), the server groups (sim.servers), the traffic model (sim.traffic), the state
classifier (sim.states) and the story kept here — each hold their changing values in one plain
object, `st`. Saving a run is pickling those objects together (`snapshot`), restoring it is
unpickling them (`restore`); nothing lists fields by hand, and a test checks that a step changes
nothing outside them. What a step records (one row of metrics, states and call failures) is
appended to `records` and never changed, so a snapshot keeps only how many rows there were.

Every timed change comes from the scenario's interventions (sim.interventions): their starts and
ends are fired by the clock before the step at the same instant, and what they change is derived
from the set in force, so a run resumed under another scenario with the same past continues
exactly as a run of that scenario from minute 0 would.
"""

from __future__ import annotations

import math
import pickle
import random
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx

from . import mechanisms as m
from .architecture import default_architecture, feature_roles
from .clock import Clock, State
from .diagnosis import Diagnoser, sentence
from .interventions import Intervention, boundaries, marker, ordered_marker, target_problem
from .power import Facility
from .scenario import Scenario, ScenarioError
from .servers import ServerGroups
from .states import Classifier
from .timeline import METRIC_NAMES, Milestone, Timeline, clock, feature_metric_names
from .traffic import HUGE, TrafficModel

VIEWS_START = 10_000.0              # the sample creator's views before the run
SAMPLE_VIEWS_PER_S = 1.0            # the sample creator's views per second in normal times
USD_PER_VIEW = 0.004                # [assumption] $4 per 1,000 views
NOISE = 0.02                        # [assumption] ±2 % step-to-step demand noise (seeded)
BASE_REPEAT = 0.02                  # repeats in a healthy personalised feed [assumption]
BACKLOG_MARK = 1000.0               # events: a backlog worth a "Counters caught up" milestone
CONSUMER_HEADROOM = 0.9             # a log consumer pulls at most this share of its capacity
HEALTHY_SUCCESS = 0.95              # a feature users act on works when this share succeeds …
HEALTHY_PERSONALISED = 0.90         # … and the feed is this personalised (sim.outcomes uses the same)
CORE_ROLES = ("login", "upload", "feed")  # what users act on; with none of them, every feature counts
SCREEN_READS = 0.5                  # a screen shows the count when this share of reads succeed [assumption]
POWER_BACK = "Power back at the servers"   # every hall powered again (utility or generators)
NODE_METRICS = ("offered", "goodput", "capacity", "utilisation", "latency_s")
CAUSE_EVERY_S = 120.0               # while users are affected, the caption's cause is looked at this often …
CAUSE_REPEAT_S = 240.0              # … and written again, unchanged, after this long (its "for N min" moves on)
FAILOVER_MIN = 2.0                  # [assumption] moving a service's traffic to another site (DNS, load balancers)


@dataclass(frozen=True)
class Checkpoint:
    """A run's whole state after step `step` (time `t_s`): the components' states, pickled."""

    step: int
    t_s: float
    blob: bytes = field(repr=False)


class Simulation:
    """One run of a scenario on an architecture, a step at a time. Deterministic for a seed."""

    def __init__(self, scenario: Scenario, architecture: nx.DiGraph | None = None, *,
                 node_metrics: bool = False) -> None:
        s = scenario
        g = architecture if architecture is not None else default_architecture()
        self.s, self.g = s, g
        self.steps = s.steps
        self.clock = Clock()
        self.model = TrafficModel(g, s)
        self.classifier = Classifier(g, self.model)
        self.roles = feature_roles(g)
        self.features = [n for n in self.model.class_ids if g.nodes[n]["kind"] == "feature"]
        self.core = core_features(g)
        self._role_feature = {r: self.features.index(f) for r, f in self.roles.items() if f in self.features}
        n = self.model.n
        self._feature_at = [self.model.class_of[f] * n + self.model.idx[f] for f in self.features]
        self.metric_names = METRIC_NAMES + feature_metric_names(self.features)
        col = {name: i for i, name in enumerate(self.metric_names)}
        self._core_cols = [col[f"success_{f}"] for f in self.core]
        self._col_halls, self._col_personal = col["halls_powered"], col["feed_personalization"]
        self.node_metrics = node_metrics
        self.actions = s.actions
        self._targets = [self._resolve(a) for a in s.actions]
        feed = g.nodes[self.roles["feed"]] if "feed" in self.roles else {}
        self.pool_repeat = m.pool_repeat_rate(s.feed_pool_size, feed.get("repeat_session", 50))
        self.sample = SAMPLE_VIEWS_PER_S / max(self.model.event_rate(1.0), 1e-9)
        self.has_events = self.model.event_rate(1.0) > 0
        self.consumers = [(self.model.class_of[r], self.model.idx[r]) for r in self.model.consumers]
        self._retried = [k for k, a in enumerate(self.model.edge_allowed) if a > 1]
        self._producers = [c for c, e in enumerate(self.model.events_per_request) if e]
        self.servers = ServerGroups(self.clock, g, random.Random(f"{s.seed}:boot"), self._servers_lost)
        self.facility = Facility(self.clock, s, g.graph["halls"], self._on_facility, self._on_hall)
        self.st = State(
            k=-1,
            noise=random.Random(f"{s.seed}:demand"),    # step-to-step demand noise
            active=[False] * len(s.actions),            # interventions in force
            shedding=s.load_shedding,
            demand_mult=[1.0] * self.model.c_count,
            admit=[1.0] * self.model.c_count,           # share of users' requests let in (`admit`)
            breakers=s.circuit_breaker,
            avail_vec=[1.0] * self.model.n,
            avail={},
            booting={},
            pace={},                                    # log consumers' pace (share of their pull rate)
            prev_success=[1.0] * self.model.c_count,    # last step's success per class (events produced)
            backlog=0.0,
            views_true=VIEWS_START,
            last_views_shown=VIEWS_START,
            last_earn_shown=VIEWS_START * USD_PER_VIEW,
            was_harmed=False,
            recovered_once=False,
            backlog_built_up=False,                     # a backlog worth announcing the end of
            halls_were_dark=False,                      # some hall lacked power at the last step
            ms_seen=set(),
            dark_since=None,                            # when some hall last lost power
            power_back_at=None,                         # when every hall was powered again
            harmed_since=None,
            cause_t=-math.inf,                          # when the cause was last looked at …
            cause_written=(-math.inf, ""),              # … and last written (t_s, text without the power words)
            roots=[],                                   # the nodes it named
            causes=[],                                  # [(t_s, text)]: why users are affected
            events=[],
            milestones=[],
        )
        # one row of metrics a step (in metric_names order), turned into columns by timeline()
        self.records = State(t_s=[], rows=[], states=[], edge_fail=[], nodes=[])
        self.diagnoser = Diagnoser(self.model, self._label)
        first = [f for f in self.core] + [f for f in self.features if f not in self.core]
        self._feature_cols = [(self.model.class_of[f], self._label(f), col[f"success_{f}"]) for f in first]
        self._schedule_boundaries()

    # ---- the one protocol: every component's state ------------------------------------------
    def components(self) -> dict[str, Any]:
        """Everything that has state; each keeps all of it in `.st`."""
        return {"clock": self.clock, "facility": self.facility, "servers": self.servers, "traffic": self.model,
                "classifier": self.classifier, "story": self}

    def snapshot(self) -> Checkpoint:
        """The whole state after the last step, as bytes (restored by `restore`)."""
        blob = pickle.dumps({name: c.st for name, c in self.components().items()}, protocol=pickle.HIGHEST_PROTOCOL)
        return Checkpoint(self.st.k, self.clock.now, blob)

    def restore(self, cp: Checkpoint, records: Timeline) -> None:
        """Continue from a checkpoint of a run whose past is this scenario's (sim.checkpoint), taking
        that run's records up to it. Intervention effects are derived again from this scenario."""
        states = pickle.loads(cp.blob)
        for name, c in self.components().items():
            c.st = states[name]
        n = cp.step + 1
        self.records = State(t_s=records.t_s[:n],
                             rows=list(zip(*(records.metrics[k][:n] for k in self.metric_names))),
                             states=records.node_states[:n], edge_fail=records.edge_fail[:n],
                             nodes=(records.node_rows[:n] if self.node_metrics and records.node_rows else []))
        self.st.active = [self._active(i, cp.t_s) for i in range(len(self.actions))]
        self._apply_effects(announce=False)
        self.clock.rebuild(cp.t_s, first=self._schedule_boundaries)

    # ---- interventions ------------------------------------------------------------------------
    def _resolve(self, a: Intervention) -> Any:
        """An intervention's target in this architecture (ScenarioError names what is allowed)."""
        problem = target_problem(a, self.g)
        if problem:
            raise ScenarioError(problem)
        model = self.model
        if a.kind in ("capacity_loss", "node_stop", "add_capacity", "failover"):
            return model.idx.get(a.node, a.node)
        if a.kind == "latency":
            caller, _, callee = (a.call or "").partition(">")
            return model.edge_ids.index((caller, callee))
        if a.kind == "load_surge" and a.feature is not None:
            return model.class_of[a.feature]
        return None

    def delay_s(self, a: Intervention) -> float:
        """Seconds from taking an action to its effect: new servers boot, traffic switches sites."""
        if a.kind == "add_capacity":
            return float(self.g.nodes[a.node].get("boot_min", 3.0)) * 60.0
        if a.kind == "failover":
            return FAILOVER_MIN * 60.0
        return 0.0

    def _active(self, i: int, t_s: float) -> bool:
        a = self.actions[i]
        return a.start_s + self.delay_s(a) <= t_s < a.end_s

    def _schedule_boundaries(self) -> None:
        """Every start and end still ahead (all of them before the first step)."""
        now, fresh = self.clock.now, self.st.k < 0
        index = {id(a): i for i, a in enumerate(self.actions)}
        for t, _, a, starts in boundaries(self.actions, self.delay_s):
            if t > now or fresh:
                self.clock.call_at(t, lambda i=index[id(a)], on=starts: self._boundary(i, on))
        for i, a in enumerate(self.actions):      # an action with a delay: marked when it is taken
            delay = self.delay_s(a)
            if delay and (a.start_s > now or fresh):
                text = ordered_marker(a, self._label, delay / 60.0)
                self.clock.call_at(a.start_s, lambda t=text: self._milestone(self.clock.now, t, repeat=True,
                                                                             action=True))

    def _boundary(self, i: int, starts: bool) -> None:
        self.st.active[i] = starts
        a = self.actions[i]
        if a.kind == "node_stop":
            stopped = any(on and x.kind == "node_stop" and x.node == a.node for on, x in zip(self.st.active, self.actions))
            if starts:
                self.servers.stop(a.node)
                self.classifier.hall_cause[a.node] = "its servers crashed (a scheduled node_stop)"
            elif not stopped:
                self.servers.start(a.node, lambda h: self.facility.halls[h].on)
                self.classifier.hall_cause[a.node] = "restarting after the crash"
        elif a.kind == "warm_caches" and starts:
            self.model.warm_caches()
        elif a.kind == "hall_power":
            self.facility.set_hall_failed(a.hall, any(on and x.kind == "hall_power" and x.hall == a.hall
                                                      for on, x in zip(self.st.active, self.actions)))
        self._apply_effects(announce=True, changed=a, starts=starts)

    def _apply_effects(self, announce: bool, changed: Intervention | None = None, starts: bool = True) -> None:
        """Derive what the interventions in force change, from the set alone."""
        st, model = self.st, self.model
        cap_mult, extra = [1.0] * model.n, [0.0] * model.e_count
        demand = [1.0] * model.c_count
        admit = [1.0] * model.c_count
        failover = [False] * model.n
        power_off = shed = budget = False
        breakers = self.s.circuit_breaker
        for on, a, target in zip(st.active, self.actions, self._targets):
            if not on:
                continue
            if a.kind == "power":
                power_off = True
            elif a.kind == "shed_load":
                shed = True
            elif a.kind == "retry_budget":
                budget = True
            elif a.kind == "breakers":
                breakers = True
            elif a.kind == "capacity_loss" and isinstance(target, int):
                cap_mult[target] *= 1.0 - float(a.fraction or 0.0)
            elif a.kind == "add_capacity" and isinstance(target, int):
                cap_mult[target] *= float(a.factor or 1.0)
            elif a.kind == "failover" and isinstance(target, int):
                failover[target] = True
            elif a.kind == "latency":
                extra[target] += float(a.added_ms or 0.0) / 1000.0
            elif a.kind == "load_surge":
                for c in range(model.c_count):
                    if (target is None and model.class_ids[c] in self.features) or c == target:
                        demand[c] *= float(a.factor or 1.0)
            elif a.kind == "admit":                 # the latest started wins (one gate at the edge)
                for c in range(model.c_count):
                    if model.class_ids[c] in self.features:
                        admit[c] = float(a.fraction if a.fraction is not None else 1.0)
        st.admit = admit
        st.demand_mult = [d * x for d, x in zip(demand, admit)]
        was = (st.shedding, st.breakers, model.st.policy)
        st.shedding = self.s.load_shedding or shed
        st.breakers = breakers
        model.set_policy("budget" if budget and "budget" in model.plans else self.s.retry_policy)
        model.fail_over(failover)
        if cap_mult != model.st.cap_mult or extra != model.st.extra_lat:
            model.set_interventions(cap_mult, extra)
        if not announce or changed is None:
            return
        if changed.kind == "power":
            self.facility.set_utility(not power_off)
            return
        if not starts and any(x.kind == changed.kind and x.start_s == self.clock.now and x is not changed
                              for x in self.actions):
            return                                  # replaced at this instant: the new one is marked
        unchanged = {"shed_load": was[0] == st.shedding, "breakers": was[1] == st.breakers,
                     "retry_budget": was[2] == model.st.policy}.get(changed.kind, False)
        if not unchanged:
            self._milestone(self.clock.now, marker(changed, starts, self._label), repeat=True, action=True)

    def _label(self, node: str) -> str:
        if node in self.g:
            return str(self.g.nodes[node].get("label", node))
        hall = self.g.graph.get("halls", {}).get(node)       # a hall_power action names a hall
        return str(hall["label"]) if hall else str(node)

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

    def _milestone(self, t: float, label: str, repeat: bool = False, action: bool = False) -> None:
        if not repeat and label in self.st.ms_seen:
            return
        self.st.ms_seen.add(label)
        self.st.milestones.append(Milestone(float(t), label, action))

    # ---- one step ---------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.st.k >= self.steps

    def step(self) -> bool:
        """Advance one step (the first call records minute 0). False once the run is complete."""
        st, s, model = self.st, self.s, self.model
        k = st.k + 1
        if k > self.steps:
            return False
        dt = s.step_s
        if k:
            self.clock.run_until(self.clock.now + dt)
            self.facility.advance(dt)
        t = self.clock.now
        if self.servers.st.dirty:
            self.servers.st.dirty = False
            st.avail = self.servers.availability()
            st.booting = self.servers.booting_nodes(lambda h: self.facility.halls[h].on)
            for node, share in st.avail.items():
                i = model.idx.get(node)
                if i is not None:
                    st.avail_vec[i] = share
        scale = s.load * (1.0 + NOISE * (st.noise.random() * 2.0 - 1.0))
        demand = model.normal_demand(scale)
        for c, x in enumerate(st.demand_mult):
            if x != 1.0:
                demand[c] *= x
        if self.consumers:
            cap = model.capacity_for(st.avail_vec)
            event_rate = self._events_produced(scale)
            for c, i in self.consumers:
                # A consumer whose writes fail slows down (it blocks on the failed batch) and
                # speeds up gradually as they succeed again.
                ok = float(model.st.succ[c * model.n + i]) * model.st.own_ok[i] if k else 1.0
                st.pace[c] = min(1.0, max(0.05, 0.7 * st.pace.get(c, 1.0) + 0.3 * ok))
                demand[c] = min(event_rate + st.backlog / dt, CONSUMER_HEADROOM * cap[i]) * st.pace[c]
        model.step(dt if k else 1.0, st.avail_vec, demand, st.shedding, st.breakers)
        self._record(t, dt, scale, demand, first=k == 0)
        st.k = k
        return True

    def _events_produced(self, scale: float) -> float:
        """Durable-log events per second: requests that succeed write their events (last step's success)."""
        model = self.model
        st = self.st
        return sum(model.demand_base[c] * model.events_per_request[c] * scale * st.demand_mult[c] * st.prev_success[c]
                   for c in self._producers)

    def _record(self, t: float, dt: float, scale: float, demand: list[float], first: bool) -> None:
        model, s, st, roles = self.model, self.s, self.st, self.roles
        nan = math.nan
        succ, lat = model.st.succ, model.st.lat
        admit = [st.admit[self.model.class_of[f]] for f in self.features]
        success = [float(succ[i]) * x for i, x in zip(self._feature_at, admit)]
        role_ok = {r: success[i] for r, i in self._role_feature.items()}

        # Durable log: events produced vs applied by the consumer(s) → backlog, never lost.
        produced = self._events_produced(scale) if not first else 0.0
        applied = 0.0
        own_ok = model.st.own_ok
        for r in model.consumers:
            applied += demand[model.class_of[r]] * model.class_success(r) * own_ok[model.idx[r]]
        if not first:
            st.backlog = max(0.0, st.backlog + (produced - applied) * dt)
            st.views_true += produced * self.sample * dt
        counted = st.views_true - st.backlog * self.sample
        views_shown = earn_shown = earn_true = views_true = nan
        if self.has_events:
            views_true, earn_true = st.views_true, st.views_true * USD_PER_VIEW
            if "view_counter" in roles:
                views_shown, st.last_views_shown = _displayed(counted, role_ok["view_counter"], s.counter_fallback,
                                                              st.last_views_shown)
            if "earnings" in roles:
                earn_shown, st.last_earn_shown = _displayed(math.floor(counted + 1e-9) * USD_PER_VIEW,
                                                            role_ok["earnings"], s.counter_fallback,
                                                            st.last_earn_shown, unit=0.01)
        feed = roles.get("feed")
        if feed is not None:
            feed_ok = role_ok["feed"]
            # Personalisation: share of feed requests answered with a personalised feed. Repeats: among
            # the feeds that are served, the generic ones repeat the popular pool.
            pers = model.class_quality(feed) * st.admit[model.class_of[feed]]
            pers_served = min(1.0, pers / feed_ok) if feed_ok > 1e-9 else 0.0
            repeat = pers_served * BASE_REPEAT + (1.0 - pers_served) * self.pool_repeat
            load_time = model.class_latency(feed)
        else:
            feed_ok = pers = repeat = load_time = nan
        halls_low, utility_dipped = self.facility.read_dips()
        values = [   # in METRIC_NAMES order, then success_ and latency_s_ per feature
            role_ok.get("login", nan), role_ok.get("upload", nan), pers, repeat, views_true, views_shown,
            earn_true, earn_shown, load_time, model.retry_amplification(), st.backlog, feed_ok,
            role_ok.get("watch", nan), 0.0 if utility_dipped else 1.0, halls_low, self.facility.hottest_c(),
            self._attempts_fit(),
        ]
        # the story's metrics are stored rounded (golden files, CSV); per feature as the model has them
        row = [v if v != v else round(v, 6) for v in values]
        for i, x in zip(self._feature_at, admit):
            row.append(float(succ[i]) * x)
            row.append(float(lat[i]))
        rec = self.records
        rec.t_s.append(float(t))
        rec.rows.append(row)
        # What users succeeded at this step sets the events they produce next step (as recorded).
        prev = st.prev_success
        for c in self._producers:
            prev[c] = round(model.class_success(model.class_ids[c]), 6)
        codes, changes = self.classifier.classify(t, st.avail, st.booting, st.backlog)
        rec.states.append(bytes(codes))                                # a byte a node: compact records
        st.events.extend(changes)
        rec.edge_fail.append(self.classifier.edge_failure_row())
        if self.node_metrics:
            rec.nodes.append(self._node_row())
        self._story_milestones(t, row)

    def _attempts_fit(self) -> float:
        """The fewest attempts per call the retry deadline allowed this step, over retried calls."""
        if not self._retried:
            return math.nan
        if not self.model.deadline_cap:
            return float(self.model.allowed)
        allowed = self.model.st.allowed
        return float(min(allowed[k] for k in self._retried))

    def _node_row(self) -> tuple[list[float], ...]:
        """Per traffic node: offered, goodput and capacity (× its normal load), utilisation, latency."""
        model = self.model
        st, n = model.st, model.n
        offered, good, cap, util, lat = [], [], [], [], []
        for i in range(n):
            l0 = model.L0[i]
            a = float(st.arrivals_total[i])         # (large graphs keep these per-node fields as numpy arrays)
            offered.append(a / l0)
            good.append(a * float(st.node_ok[i]) / l0)
            cap.append(math.nan if st.capacity[i] >= HUGE else float(st.capacity[i]) / l0)
            util.append(float(st.util[i]) if math.isfinite(st.util[i]) else math.nan)
            w = float(sum(st.arrivals[c * n + i] for c in model.classes_at[i]))
            lat.append(float(sum(st.arrivals[c * n + i] * st.lat[c * n + i] for c in model.classes_at[i])) / w if w > 0
                       else (float(st.lat[model.classes_at[i][0] * n + i]) if model.classes_at[i] else 0.0))
        return offered, good, cap, util, lat

    def _story_milestones(self, t: float, row: list[float]) -> None:
        st = self.st
        if row[self._col_halls] < 1.0:
            if not st.halls_were_dark:
                st.dark_since, st.power_back_at = t, None
            st.halls_were_dark = True
        elif st.halls_were_dark:
            st.halls_were_dark = False
            st.power_back_at = t
            self._milestone(t, POWER_BACK, repeat=True)
        if not healthy((row[c] for c in self._core_cols), row[self._col_personal]):
            if not st.was_harmed or st.recovered_once:
                st.harmed_since, st.cause_t, st.cause_written = t, -math.inf, (-math.inf, "")
            st.was_harmed = True
            st.recovered_once = False
            if t - st.cause_t >= CAUSE_EVERY_S - 1e-6:
                self._explain(t, row)
        elif st.was_harmed and not st.recovered_once:
            st.recovered_once = True
            self._milestone(t, "Recovered", repeat=True)
            self._explain_recovery(t)
        if st.backlog > BACKLOG_MARK:
            st.backlog_built_up = True
        elif st.backlog_built_up and st.backlog < 1.0 and "Recovered" in st.ms_seen:
            st.backlog_built_up = False
            self._milestone(t, "Counters caught up", repeat=True)

    def _power_words(self, t: float) -> str:
        st = self.st
        if st.halls_were_dark and st.dark_since is not None:
            return f"Power out at the servers for {(t - st.dark_since) / 60:.0f} min. "
        if st.power_back_at is not None:
            return f"Power back for {(t - st.power_back_at) / 60:.0f} min. "
        return ""

    def _explain(self, t: float, row: list[float]) -> None:
        """The caption's cause: which features fail, and the numbers where their failure starts."""
        st = self.st
        failing = [(c, name) for c, name, col in self._feature_cols if row[col] < HEALTHY_SUCCESS]
        blocked = min(st.admit) if st.admit else 1.0
        causes = self.diagnoser.causes(failing, st.booting)
        st.cause_t, st.roots = t, [c.node for c in causes]
        parts = [""]
        if causes:
            parts.append(sentence(causes, still=st.power_back_at is not None))
            overloaded = any("normal load" in c.text for c in causes)
            parts.append(" It stays down while that load is above capacity." if overloaded else "")
        elif failing:
            parts.append(", ".join(name for _, name in failing) + " failing.")
        if blocked < 1.0:
            parts.append(f" {1 - blocked:.0%} of users' requests are turned away at the edge (blocked).")
        text = "".join(parts).strip()
        last_t, last_text = st.cause_written
        if text != last_text or t - last_t >= CAUSE_REPEAT_S - 1e-6:
            st.cause_written = (t, text)
            st.causes.append((float(t), self._power_words(t) + text))

    def _explain_recovery(self, t: float) -> None:
        """What brought users back: the operators' last action while they were affected, and where the
        failure started now."""
        st = self.st
        acted = [m for m in st.milestones if m.action and st.harmed_since is not None and m.t_s >= st.harmed_since]
        text = "Users are fine again"
        if acted:
            last = acted[-1]
            text += f" after “{last.label}” at {clock(last.t_s)}"
        else:
            text += " with no operator action"
        now = []
        for i in st.roots[:2]:
            load, cap = self.diagnoser.numbers(i)
            if cap > 0:
                now.append(f"{self._label(self.model.ids[i])} now gets {load:.1f}× its normal load against {cap:.1f}× capacity")
        st.causes.append((float(t), self._power_words(t) + text + (": " + "; ".join(now) if now else "") + "."))
        st.roots, st.cause_written = [], (t, "")

    # ---- the result ----------------------------------------------------------------------------
    def timeline(self, checkpoints: list[Checkpoint] | None = None) -> Timeline:
        rec = self.records
        columns = list(zip(*rec.rows)) if rec.rows else [() for _ in self.metric_names]
        metrics = {name: list(column) for name, column in zip(self.metric_names, columns)}
        return Timeline(
            scenario=self.s, graph=self.g, t_s=rec.t_s, metrics=metrics,
            node_ids=self.classifier.node_ids, node_states=rec.states,
            edge_ids=self.classifier.edge_ids, edge_fail=rec.edge_fail,
            events=sorted(self.st.events, key=lambda e: e.t_s),
            milestones=sorted(self.st.milestones, key=lambda ms: ms.t_s),
            checkpoints=checkpoints if checkpoints is not None else [],
            node_rows=rec.nodes,
            extras={"causes": list(self.st.causes)},
        )


def core_features(g: nx.DiGraph) -> list[str]:
    """The features whose health says whether users are fine: logging in, uploading and the feed
    (roles login, upload, feed) — or, in an architecture with none of those roles, every feature."""
    roles = feature_roles(g)
    return [roles[r] for r in CORE_ROLES if r in roles] or [n for n, d in g.nodes(data=True) if d["kind"] == "feature"]


def healthy(core_success: Iterable[float], personalised: float) -> bool:
    """A step is healthy for users: every core feature succeeds for HEALTHY_SUCCESS of its requests,
    and the feed (if any; NaN without one) is HEALTHY_PERSONALISED personalised. The engine's
    "Recovered" milestone and sim.outcomes both ask this."""
    return (all(x >= HEALTHY_SUCCESS for x in core_success)
            and not (personalised == personalised and personalised < HEALTHY_PERSONALISED))


def _displayed(counted: float, read_ok: float, fallback: str, last_shown: float,
               unit: float = 1.0) -> tuple[float, float]:
    """What the sample creator's screen shows: one screen, so a whole number of views (or cents), or
    blank. It reads like most screens do [assumption]: the count when at least half of the reads
    succeed, else the fallback — 0, hidden (NaN) or the last value shown. Returns (shown, last_known)."""
    if read_ok >= SCREEN_READS:
        shown = math.floor(counted / unit + 1e-9) * unit
        shown = round(shown, 2) if unit < 1.0 else shown
        return shown, shown
    if fallback == "zero":
        return 0.0, last_shown
    if fallback == "hide":
        return math.nan, last_shown
    return last_shown, last_shown


__all__ = ["Simulation", "Checkpoint", "core_features", "healthy", "POWER_BACK", "HEALTHY_SUCCESS",
           "HEALTHY_PERSONALISED"]
