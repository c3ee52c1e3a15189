"""The facility: utility feed → ATS → UPS → hall power, generators, cooling and heat-up.

SimPy processes drive every discrete change (the feed flips, the generator starts or fails, a UPS
runs flat, chillers restart) at its exact time; temperature is integrated by `advance(dt)`, which
the engine calls every step. Figures come from DOMAIN.md §2; the ones marked [assumption] are
modelling choices, listed in docs/MODEL.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import simpy

from .scenario import Scenario

GENERATOR_START_S = 10.0        # NFPA 110 "Type 10": start and take load within 10 s [fact]
HEAT_RATE_C_PER_MIN = 2.0       # air heats ~2 °C/min without cooling [fact: Opengate/Active Power]
COOL_RATE_C_PER_MIN = 1.0       # [assumption] how fast chillers pull a hot hall back down
PASSIVE_COOL_C_PER_MIN = 0.5    # [assumption] a dark hall with its servers off cools slowly
SETPOINT_C = 22.0               # [assumption] normal cold-aisle temperature
THERMAL_TRIP_C = 35.0           # [assumption] servers shut themselves down here
THERMAL_RESTART_C = 27.0        # [assumption] operators restart a tripped hall once it is this cool
UPS_RECHARGE_FACTOR = 10.0      # [assumption] batteries take 10× their runtime to recharge


@dataclass
class HallState:
    label: str
    ups_load: float
    battery_s: float            # seconds of runtime left at this hall's load
    battery_full_s: float
    powered: bool = True        # electricity reaches the racks (mains, generator or battery)
    tripped: bool = False       # servers shut down by heat
    temp_c: float = SETPOINT_C
    on_battery: bool = False
    cause: str = ""             # why the hall is in its current state

    @property
    def on(self) -> bool:
        return self.powered and not self.tripped


FacilityListener = Callable[[float, str, str, str], None]   # (t_s, role_or_hall, state, cause)
HallListener = Callable[[str, bool, str], None]              # (hall, on, cause)


class Facility:
    """The power chain of the primary site, as SimPy processes."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, halls: dict[str, dict],
                 rng: random.Random, on_change: FacilityListener, on_hall: HallListener) -> None:
        self.env = env
        self.s = scenario
        self.rng = rng
        self.on_change = on_change
        self.on_hall = on_hall
        self.utility_on = True
        self.generator = "standby"      # standby | starting | running | failed
        self.cooling = "running"        # running | off | restarting
        self.halls: dict[str, HallState] = {}
        for hid, h in halls.items():
            full = scenario.ups_minutes * 60.0 / h["ups_load"]
            self.halls[hid] = HallState(h["label"], h["ups_load"], full, full)
        self._drains: dict[str, simpy.Process] = {}
        self._gen_proc: simpy.Process | None = None
        self._cool_proc: simpy.Process | None = None
        env.process(self._utility())

    # ---- supply ------------------------------------------------------------------------
    @property
    def supply_ok(self) -> bool:
        """Mains or generator power reaches the ATS output."""
        return self.utility_on or self.generator == "running"

    @property
    def cooling_powered(self) -> bool:
        # Chillers are not on the UPS [DOMAIN §2: cooling often NOT on UPS].
        return self.utility_on or (self.generator == "running" and self.s.cooling_on_generator)

    def _utility(self):
        for t_s, on in self.s.utility_flips():
            if t_s > self.env.now:
                yield self.env.timeout(t_s - self.env.now)
            if on == self.utility_on:
                continue
            self.utility_on = on
            if on:
                self.on_change(self.env.now, "utility", "up", "utility power restored")
                if self.generator in ("running", "starting"):
                    self._stop_generator("utility power back — generators return to standby")
                elif self.generator == "failed":
                    self.generator = "standby"
                    self.on_change(self.env.now, "generator", "up", "standby again — utility power back")
            else:
                self.on_change(self.env.now, "utility", "down", "utility feed lost (the cut in this scenario)")
                self._start_generator()
            self._supply_changed()

    def _start_generator(self) -> None:
        if self.generator != "standby":
            return
        self.generator = "starting"
        self.on_change(self.env.now, "generator", "recovering", "starting after utility loss")
        self._gen_proc = self.env.process(self._generator_start())

    def _stop_generator(self, cause: str) -> None:
        if self._gen_proc is not None and self._gen_proc.is_alive:
            self._gen_proc.interrupt()
        self.generator = "standby"
        self.on_change(self.env.now, "generator", "up", cause)

    def _generator_start(self):
        mode = self.s.generator
        try:
            if mode == "fails":
                yield self.env.timeout(GENERATOR_START_S)
                self.generator = "failed"
                self.on_change(self.env.now, "generator", "down",
                               "failed to start [assumption: no official statement says why backup power did not hold]")
                return
            delay = GENERATOR_START_S if mode == "ok" else self.s.generator_delay_min * 60.0
            yield self.env.timeout(delay)
            self.generator = "running"
            late = "" if mode == "ok" else f" — {delay / 60:.0f} min late [assumption]"
            self.on_change(self.env.now, "generator", "up", f"carrying the load{late}")
            self._supply_changed()
        except simpy.Interrupt:
            return

    # ---- ATS, UPS, halls -----------------------------------------------------------------
    def _supply_changed(self) -> None:
        now = self.env.now
        if self.supply_ok:
            source = "utility power" if self.utility_on else "generators"
            self.on_change(now, "ats", "up", f"load on {source}")
            self.on_change(now, "ups", "up", f"on {source}, recharging")
            for hid, hall in self.halls.items():
                if hid in self._drains and self._drains[hid].is_alive:
                    self._drains[hid].interrupt()
                hall.on_battery = False
                if not hall.powered:
                    hall.powered = True
                    self._hall_changed(hid, f"power back in {hall.label} — {source}")
        else:
            self.on_change(now, "ats", "degraded", "no source: utility lost and generators not running")
            runtimes = ", ".join(f"{h.label} {h.battery_s / 60:.1f} min" for h in self.halls.values())
            self.on_change(now, "ups", "degraded", f"on battery ({runtimes} left at this load)")
            for hid, hall in self.halls.items():
                if hall.powered and not hall.on_battery:
                    hall.on_battery = True
                    self._drains[hid] = self.env.process(self._drain(hid))
        self._cooling_changed()

    def _drain(self, hid: str):
        hall = self.halls[hid]
        start = self.env.now
        try:
            # A tripped hall draws (almost) nothing, so only a running hall drains its battery.
            while hall.battery_s > 0:
                if hall.tripped:
                    yield self.env.timeout(self.s.step_s)
                    start = self.env.now
                    continue
                yield self.env.timeout(hall.battery_s)
                hall.battery_s = 0.0
            hall.powered = False
            hall.on_battery = False
            ran = (self.env.now - start) / 60.0
            self.on_change(self.env.now, "ups", "down", f"batteries exhausted in {hall.label}")
            self._hall_changed(hid, f"{hall.label} lost power — UPS batteries exhausted after {ran:.1f} min")
        except simpy.Interrupt:
            hall.battery_s = max(0.0, hall.battery_s - (self.env.now - start))

    def _hall_changed(self, hid: str, cause: str) -> None:
        hall = self.halls[hid]
        hall.cause = cause
        self.on_change(self.env.now, f"hall:{hid}", "up" if hall.on else "down", cause)
        self.on_hall(hid, hall.on, cause)

    # ---- cooling -------------------------------------------------------------------------
    def _cooling_changed(self) -> None:
        if self.cooling_powered:
            if self.cooling == "off":
                self.cooling = "restarting"
                self.on_change(self.env.now, "cooling", "recovering",
                               f"chillers restarting (~{self.s.chiller_restart_min:g} min) [assumption]")
                self._cool_proc = self.env.process(self._chiller_restart())
        elif self.cooling != "off":
            if self._cool_proc is not None and self._cool_proc.is_alive:
                self._cool_proc.interrupt()
            self.cooling = "off"
            why = "not on UPS" if not self.supply_ok else "not on the generators"
            self.on_change(self.env.now, "cooling", "down", f"chillers stopped — {why}")

    def _chiller_restart(self):
        try:
            yield self.env.timeout(self.s.chiller_restart_min * 60.0)
            self.cooling = "running"
            self.on_change(self.env.now, "cooling", "up", "chillers running again")
        except simpy.Interrupt:
            return

    # ---- temperature (integrated each step) -------------------------------------------
    def advance(self, dt: float) -> None:
        """Integrate hall temperatures and batteries' recharge over the last dt seconds."""
        now = self.env.now
        for hid, hall in self.halls.items():
            if self.supply_ok and hall.battery_s < hall.battery_full_s:
                hall.battery_s = min(hall.battery_full_s, hall.battery_s + dt / UPS_RECHARGE_FACTOR)
            heating = hall.on and self.cooling != "running"
            if heating:
                rate = HEAT_RATE_C_PER_MIN / 60.0
                before = hall.temp_c
                hall.temp_c += rate * dt
                if hall.temp_c >= THERMAL_TRIP_C:
                    t_cross = now - dt + (THERMAL_TRIP_C - before) / rate
                    hall.temp_c = THERMAL_TRIP_C
                    hall.tripped = True
                    hall.cause = (f"{hall.label} shut down — overheated ({THERMAL_TRIP_C:.0f} °C): "
                                  f"cooling {self.cooling}")
                    self.on_change(max(t_cross, now - dt), f"hall:{hid}", "down", hall.cause)
                    self.on_hall(hid, False, hall.cause)
            elif self.cooling == "running" or not hall.on:
                rate = COOL_RATE_C_PER_MIN if self.cooling == "running" else PASSIVE_COOL_C_PER_MIN
                hall.temp_c = max(SETPOINT_C, hall.temp_c - rate / 60.0 * dt)
                if hall.tripped and self.cooling == "running" and hall.temp_c <= THERMAL_RESTART_C:
                    hall.tripped = False
                    if hall.powered:
                        self._hall_changed(hid, f"{hall.label} restarted — cooled to {hall.temp_c:.0f} °C")

    def hottest_c(self) -> float:
        return max(h.temp_c for h in self.halls.values())

    def halls_on_share(self) -> float:
        return sum(h.on for h in self.halls.values()) / len(self.halls)
