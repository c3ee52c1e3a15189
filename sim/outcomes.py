"""Timeline → outcomes: the handful of numbers that say how bad a run was for users.

Pure functions over a finished `Timeline` (no re-simulation, no Streamlit). The Compare page, the
sweeps and the tests all read the same numbers, so "does not recover" means the same everywhere.

Definitions (each one is a modelling choice, documented here and in the Lab's Markdown):

- **Healthy step**: logins, uploads and feeds (the features with roles login, upload, feed; every
  feature in an architecture without those roles) each succeed for at least 95 % of requests and at
  least 90 % of feeds are personalised — the same test the engine uses for its "Recovered"
  milestone (`sim.simulation.healthy`).
- **Power back at the servers**: the start of the final stretch in which every data hall has power
  (`halls_powered == 1`) — from the utility *or* the generators; the engine's milestone of the same
  name. A run whose halls never lost power measures recovery from the last return of the utility
  feed instead (said so wherever it is shown).
- **Recovered**: the first step from which the run stays healthy until its end. A run that is not
  healthy at its last step has *not recovered* ("never", within the simulated time).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .architecture import feature_roles
from .timeline import Timeline, clock

from .simulation import HEALTHY_PERSONALISED, HEALTHY_SUCCESS, SAMPLE_VIEWS_PER_S, core_features, healthy

LOGIN_OUTAGE_BELOW = 0.5      # a minute counts as "logins down" when under half succeed


@dataclass(frozen=True)
class Outcome:
    """How one run went for users. Times are simulated; `None` means "did not happen"."""

    login_outage_min: float
    """Minutes in which fewer than half of login attempts succeeded."""
    degraded_feed_user_min: float
    """User-minutes of degraded feed (failed or not personalised), in units of the normal audience:
    1.0 = every user of a normal day had a degraded feed for one minute. Scales with `load`."""
    peak_retry_amplification: float
    """Highest ratio of call attempts reaching backends to the calls a retry-free client sends."""
    power_back_s: float | None
    """When power returned for good (see module docstring); None if it never returned."""
    recovered_s: float | None
    """Start of the final healthy stretch, if the run ends healthy; None = not recovered by the end."""
    recover_after_power_min: float | None
    """Minutes from `power_back_s` to `recovered_s` (0 if users were fine when power returned);
    None = never (within the run), or power never returned."""
    trigger_over_s: float | None
    """When the last trigger was over (power back at the servers, the last fault's end); see
    `trigger_over`. None = a trigger lasted to the end of the run."""
    recover_after_trigger_min: float | None
    """Minutes from `trigger_over_s` to `recovered_s` (0 if users were fine by then); None = not
    recovered by the end, or a trigger lasted to the end."""
    max_counter_gap_views: float
    """Largest shortfall of the displayed view counter below the true count (sample creator)."""
    counter_hidden_min: float
    """Minutes in which the view counter was hidden (blank)."""
    events_lost: float | None
    """View events neither applied to the counters nor waiting in the durable log, at
    `events_checked_s`: produced (true views) − applied (displayed views) − backlog. An upper bound
    (a display error can only add to it); None if the counter was never fully readable."""
    events_checked_s: float | None
    """The step `events_lost` was checked at: the last one where the displayed counter was readable."""
    end_s: float
    """The run's last step."""
    feature_outage_min: tuple[tuple[str, float], ...] = ()
    """Per feature (id, minutes in which fewer than half of its requests succeeded)."""
    halls_lost_power: bool = True
    """Whether any hall lost power; if not, `power_back_s` is the utility feed's last return."""

    @property
    def recovered(self) -> bool:
        return self.recovered_s is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Human-readable rows: (field, label, help). The order is the table's order.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("login_outage_min", "Login outage", "minutes in which under half of logins succeed"),
    ("degraded_feed_user_min", "Degraded feed", "user-minutes (normal audience = 1 user) of failed or generic feeds"),
    ("peak_retry_amplification", "Peak retry amplification", "attempts per call a retry-free client would make"),
    ("recover_after_power_min", "Time to recover after power is back at the servers",
     "minutes from every hall powered again (utility or generators); 'never' = not by the end of the run"),
    ("max_counter_gap_views", "Largest counter gap", "true views minus displayed views, sample creator"),
    ("events_lost", "Events lost", "produced − applied − waiting in the durable log (must be 0)"),
)


def sample_views_per_event(tl: Timeline) -> float:
    """How many of the sample creator's views one durable-log event stands for in this run.

    The engine scales the sample creator's views from the app-wide event rate; the same constants
    are read here so that backlog (events) and views can be compared.
    """
    from .traffic import TrafficModel

    rate = TrafficModel(tl.graph, tl.scenario).event_rate(1.0)
    return SAMPLE_VIEWS_PER_S / max(rate, 1e-9)


def healthy_steps(tl: Timeline) -> list[bool]:
    cores = [tl.metrics[f"success_{f}"] for f in core_features(tl.graph)]
    return [healthy((c[i] for c in cores), p) for i, p in enumerate(tl.metrics["feed_personalization"])]


def _final_stretch_start(flags: list[bool]) -> int | None:
    """Index where the final run of True values starts; None if the last value is False."""
    if not flags or not flags[-1]:
        return None
    i = len(flags) - 1
    while i > 0 and flags[i - 1]:
        i -= 1
    return i


def _step_s(tl: Timeline) -> float:
    return float(tl.t_s[1] - tl.t_s[0]) if len(tl.t_s) > 1 else float(tl.scenario.step_s)


def power_back(tl: Timeline) -> float | None:
    """When power returned for good (see module docstring)."""
    halls = tl.metrics["halls_powered"]
    if any(h < 1.0 for h in halls):
        start = _final_stretch_start([h >= 1.0 for h in halls])
        return None if start is None else float(tl.t_s[start])
    restores = [t for t, on in tl.scenario.utility_flips() if on and t <= tl.t_s[-1]]
    if restores:
        return float(restores[-1])
    cuts = [t for t, on in tl.scenario.utility_flips() if not on and t <= tl.t_s[-1]]
    return None if cuts else 0.0


FAULT_KINDS = ("capacity_loss", "node_stop", "latency", "load_surge")   # triggers besides power


def trigger_over(tl: Timeline) -> float | None:
    """When the last trigger was over: power back at the servers for good, or the end of the last
    fault (capacity loss, crash, latency, surge) — whichever is later. None if one never ends (by the
    end of the run); 0 when nothing triggered anything."""
    ends: list[float] = []
    cut = any(not on for _, on in tl.scenario.utility_flips()) or any(h < 1.0 for h in tl.metrics["halls_powered"])
    if cut:
        back = power_back(tl)
        if back is None:
            return None
        ends.append(back)
    for a in tl.scenario.actions:
        if a.kind in FAULT_KINDS and a.start_s <= tl.t_s[-1]:
            if a.end_min is None or a.end_s > tl.t_s[-1]:
                return None
            ends.append(a.end_s)
    return max(ends, default=0.0)


def events_lost(tl: Timeline, sample: float | None = None) -> tuple[float | None, float | None]:
    """(events lost, time checked): produced − applied − waiting at the last readable step.

    Produced = the true view count (every event the durable log accepted), applied = what the
    counter displays when it is readable, waiting = the backlog. A readable step is one where the
    view-counts feature is up and the counter is not hidden; if its read was only partly
    successful, the shortfall shows up here as an apparent loss — never as a hidden one.
    """
    sample = sample if sample is not None else sample_views_per_event(tl)
    m = tl.metrics
    counter = feature_roles(tl.graph).get("view_counter")
    col = tl.node_ids.index(counter) if counter is not None else None
    tolerance = 1.0 / sample          # the screen shows whole views: less than one view is rounding
    for i in range(len(tl.t_s) - 1, -1, -1):
        shown = m["views_displayed"][i]
        if shown is None or (isinstance(shown, float) and math.isnan(shown)):
            continue
        if col is not None and tl.node_states[i][col] != 0:
            continue
        lost = (m["views_true"][i] - shown) / sample - m["backlog_events"][i]
        lost = 0.0 if abs(lost) <= tolerance else lost
        return max(0.0, round(lost, 1)), float(tl.t_s[i])
    return None, None


def outcome(tl: Timeline) -> Outcome:
    """Every outcome of one run."""
    m = tl.metrics
    dt = _step_s(tl)
    minutes = lambda n: n * dt / 60.0  # noqa: E731
    login_out = minutes(sum(1 for x in m["login_success"] if x < LOGIN_OUTAGE_BELOW))
    outages = tuple((f, round(minutes(sum(1 for x in m[f"success_{f}"] if x < LOGIN_OUTAGE_BELOW)), 2))
                    for f in (n for n, d in tl.graph.nodes(data=True) if d["kind"] == "feature"))
    load = float(tl.scenario.load)
    degraded = sum(max(0.0, 1.0 - p) for p in m["feed_personalization"] if p == p) * dt / 60.0 * load
    peak = max(m["retry_amplification"], default=1.0)
    back = power_back(tl)
    healthy = healthy_steps(tl)
    start = _final_stretch_start(healthy)
    recovered = None if start is None else float(tl.t_s[start])
    if back is None or recovered is None:
        after = None
    else:
        after = max(0.0, (recovered - back) / 60.0)
    # the screen shows whole views: the gap is counted in whole views too
    gaps = [math.floor(t + 1e-9) - s for t, s in zip(m["views_true"], m["views_displayed"])
            if s is not None and s == s and t == t]
    hidden = minutes(sum(1 for s in m["views_displayed"] if s is None or s != s))
    lost, checked = events_lost(tl)
    over = trigger_over(tl)
    after_trigger = None if over is None or recovered is None else round(max(0.0, (recovered - over) / 60.0), 2)
    return Outcome(
        login_outage_min=round(login_out, 2),
        degraded_feed_user_min=round(degraded, 2),
        peak_retry_amplification=round(float(peak), 3),
        power_back_s=back,
        recovered_s=recovered,
        recover_after_power_min=None if after is None else round(after, 2),
        trigger_over_s=over,
        recover_after_trigger_min=after_trigger,
        max_counter_gap_views=round(max(gaps, default=0.0), 1),
        counter_hidden_min=round(hidden, 2),
        events_lost=lost,
        events_checked_s=checked,
        end_s=float(tl.t_s[-1]),
        feature_outage_min=outages,
        halls_lost_power=any(h < 1.0 for h in m["halls_powered"]),
    )


def format_value(o: Outcome, name: str) -> str:
    """One outcome as table text: '12 min', '×3.5', 'never (by 3:00)', '0 (checked at 0:14)'."""
    v = getattr(o, name)
    if name == "recover_after_power_min":
        if o.power_back_s is None:
            return "power never returned"
        if v is None:
            return f"never (not recovered by {clock(o.end_s)})"
        return "no outage" if v == 0 and o.login_outage_min == 0 else f"{v:.0f} min"
    if name == "login_outage_min":
        return f"{v:.0f} min"
    if name == "degraded_feed_user_min":
        return f"{v:,.0f} user-min"
    if name == "peak_retry_amplification":
        return f"×{v:.1f}"
    if name == "max_counter_gap_views":
        return f"{v:,.0f} views" + (f" (hidden {o.counter_hidden_min:.0f} min)" if o.counter_hidden_min else "")
    if name == "events_lost":
        if v is None:
            return "not checkable (counter never readable)"
        at = ("" if o.events_checked_s == o.end_s
              else f" (checked at {clock(o.events_checked_s or 0.0)}, the last readable moment)")
        return f"{v:,.0f}{at}"
    return str(v)


def table(outcomes: dict[str, Outcome]) -> list[dict[str, str]]:
    """Rows for a table: one per outcome, one column per run (keyed by the dict's names)."""
    return [
        {"Outcome": label, **{name: format_value(o, field) for name, o in outcomes.items()}, "Meaning": help_}
        for field, label, help_ in ROWS
    ]


OUTCOME_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Outcome))

__all__ = ["Outcome", "ROWS", "trigger_over", "HEALTHY_SUCCESS", "HEALTHY_PERSONALISED", "OUTCOME_FIELDS", "outcome", "table", "format_value", "events_lost",
           "power_back", "healthy_steps", "sample_views_per_event"]
