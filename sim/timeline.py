"""The Timeline: what one run produced — metrics per step, node states per step, events with causes.

It is the single result every view reads (CLI story, CSV export, the player, the charts), so it
holds plain numbers and strings and knows how to write itself out; it computes nothing new.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx

from .scenario import Scenario

_TRAFFIC = ("datastore", "cache", "queue", "service", "edge", "feature")   # sim.architecture.TRAFFIC_KINDS

# Node states, in the order their codes are stored (code = index).
STATES: tuple[str, ...] = ("up", "degraded", "overloaded", "down", "recovering")
UP, DEGRADED, OVERLOADED, DOWN, RECOVERING = range(len(STATES))

# Metrics per step: name -> (unit, one-line meaning). Declared once; CSV columns follow this order
# (the first eleven are the interface named in issue 2 — keep their names and order).
METRICS: dict[str, tuple[str, str]] = {
    "login_success": ("fraction", "share of login attempts that succeed"),
    "upload_success": ("fraction", "share of video uploads that succeed"),
    "feed_personalization": ("fraction", "share of served For You feeds that are personalised"),
    "feed_repeat_rate": ("fraction", "share of feed videos the viewer has already seen"),
    "views_true": ("views", "views a sample creator's videos really have (from the durable event log)"),
    "views_displayed": ("views", "views the app shows that creator (blank = hidden)"),
    "earnings_true": ("USD", "what the sample creator has really earned"),
    "earnings_displayed": ("USD", "earnings the app shows (blank = hidden)"),
    "feed_load_time_s": ("seconds", "mean time to load the feed, failures included"),
    "retry_amplification": ("ratio", "call attempts reaching backends per attempt a client without retries would send"),
    "backlog_events": ("events", "events in the durable log not yet applied to counters and earnings"),
    "feed_success": ("fraction", "share of feed requests that return any videos"),
    "watch_success": ("fraction", "share of video plays that start"),
    "utility_power": ("0/1", "1 while the utility feed supplies the site"),
    "halls_powered": ("fraction", "share of data halls with power and servers running"),
    "hall_temp_c": ("°C", "hottest data hall's air temperature"),
    "retry_attempts_fit": ("attempts", "attempts per call that fit the retry deadline, fewest over retried calls"
                           " (blank without retries)"),
}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
# Per feature, for every architecture (whatever roles it declares): success_<id> and latency_s_<id>.
FEATURE_METRICS: dict[str, tuple[str, str]] = {
    "success": ("fraction", "share of this feature's requests that succeed"),
    "latency_s": ("seconds", "mean time this feature's requests take, failures included"),
}
# Per step and node (--node-metrics-csv): rates are multiples of that node's normal load (1.0 = normal).
NODE_COLUMNS: tuple[str, ...] = ("t_s", "node", "state", "offered", "goodput", "capacity", "utilisation", "latency_s")


def feature_metric_names(features: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{kind}_{f}" for f in features for kind in FEATURE_METRICS)


@dataclass(frozen=True)
class Event:
    """A change of one node's state at a time, with its cause in plain words."""

    t_s: float
    node: str
    state: str
    cause: str


@dataclass(frozen=True)
class Milestone:
    """A moment worth marking on every chart (power cut, UPS exhausted, power restored …).
    `action`: a scheduled change (an intervention's start or end), shown in the event log too."""

    t_s: float
    label: str
    action: bool = False


@dataclass
class Timeline:
    scenario: Scenario
    graph: nx.DiGraph
    t_s: list[float]
    metrics: dict[str, list[float]]
    node_ids: list[str]
    node_states: list[Any]        # [step][node] -> state code (a bytes row per step: one byte a node)
    edge_ids: list[tuple[str, str]]
    edge_fail: list[Any]          # [step][edge] -> share of calls on that edge failing (0..1; float32 rows)
    events: list[Event]
    milestones: list[Milestone]
    extras: dict[str, Any] = field(default_factory=dict)
    checkpoints: list[Any] = field(default_factory=list, repr=False)  # sim.simulation.Checkpoint, if asked for
    # [step] -> (offered, goodput, capacity, utilisation, latency_s) per traffic node, if asked for
    node_rows: list[Any] = field(default_factory=list, repr=False)

    def approx_bytes(self) -> int:
        """Memory the run holds, roughly: its per-step records and checkpoints (for bounded caches)."""
        per_step = 8 + 40 * len(self.metrics) + 40 + len(self.node_ids) + 70 + 4 * len(self.edge_ids)
        if self.node_rows:
            per_step += 5 * 40 * len(self.node_rows[0][0])
        return len(self.t_s) * per_step + sum(len(getattr(c, "blob", b"")) for c in self.checkpoints)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Every metric of this run: the story's (METRIC_NAMES), then success_/latency_s_ per feature."""
        return METRIC_NAMES + tuple(k for k in self.metrics if k not in METRICS)

    # ---- reading -------------------------------------------------------------------------
    def index_at(self, t_s: float) -> int:
        """Index of the last step at or before t_s."""
        step = self.scenario.step_s
        return max(0, min(len(self.t_s) - 1, int(math.floor(t_s / step + 1e-9))))

    def states_at(self, t_s: float) -> dict[str, str]:
        row = self.node_states[self.index_at(t_s)]
        return {nid: STATES[code] for nid, code in zip(self.node_ids, row)}

    def metric(self, name: str) -> list[float]:
        return self.metrics[name]

    def label(self, node: str) -> str:
        return str(self.graph.nodes[node].get("label", node))

    # ---- writing -------------------------------------------------------------------------
    def metrics_rows(self) -> Iterable[dict[str, Any]]:
        names = self.metric_names
        for i, t in enumerate(self.t_s):
            row: dict[str, Any] = {"t_s": t}
            for name in names:
                row[name] = self.metrics[name][i]
            yield row

    def metrics_csv(self) -> str:
        names = self.metric_names
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("t_s",) + names)
        for i, t in enumerate(self.t_s):
            writer.writerow([_fmt(t)] + [_fmt(self.metrics[m][i]) for m in names])
        return buf.getvalue()

    def node_metrics_csv(self) -> str:
        """One row per step and node (NODE_COLUMNS); blank where a number does not apply (a facility
        node carries no requests, a feature has no capacity). Needs a run with node_metrics=True."""
        if not self.node_rows:
            raise ValueError("this run kept no node metrics (run it with node_metrics=True)")
        traffic = [n for n, d in self.graph.nodes(data=True) if d["kind"] in _TRAFFIC]
        col = {n: i for i, n in enumerate(traffic)}
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(NODE_COLUMNS)
        for step, (t, codes) in enumerate(zip(self.t_s, self.node_states)):
            rows = self.node_rows[step]
            for j, node in enumerate(self.node_ids):
                i = col.get(node)
                values = ["" if i is None else _fmt(rows[c][i]) for c in range(5)]
                writer.writerow([_fmt(t), node, STATES[codes[j]]] + values)
        return buf.getvalue()

    def events_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("t_s", "node", "state", "cause"))
        for e in self.events:
            writer.writerow((_fmt(e.t_s), e.node, e.state, _cell(e.cause)))
        return buf.getvalue()

    def to_json(self) -> str:
        """Everything but the graph, as JSON (stable key order; used for golden files)."""
        return json.dumps(
            {
                "t_s": self.t_s,
                "metrics": {k: [_round(v) for v in self.metrics[k]] for k in self.metric_names},
                "node_ids": self.node_ids,
                "node_states": ["".join(str(c) for c in row) for row in self.node_states],
                "events": [[e.t_s, e.node, e.state, e.cause] for e in self.events],
                "milestones": [[m.t_s, m.label] for m in self.milestones],
            },
            indent=0,
            allow_nan=False,
            default=str,
        )


def _cell(text: str) -> str:
    """Text for a CSV cell that a spreadsheet will not run: a cause may start with a label from the
    architecture file, and a cell starting with = + - @ is a formula in Excel and LibreOffice."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _round(v: float) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return round(float(v), 4)


def _fmt(v: float | None) -> str:
    """CSV cell: blank for missing (hidden counters), compact numbers otherwise."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.6g}"


def clock(t_s: float) -> str:
    """Simulated time as H:MM from the start of the run (the story's clock)."""
    minutes = int(t_s // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"
