"""The facility: utility feed → ATS → UPS → hall power, generators, cooling and heat-up.

Timers on the run's clock (sim.clock, fired by SimPy) drive every discrete change (the feed flips,
the generator starts or fails, a UPS runs flat, chillers restart) at its exact time; temperature is integrated by `advance(dt)`, which
the engine calls every step. Figures come from DOMAIN.md §2; the ones marked [assumption] are
modelling choices, listed in docs/MODEL.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .clock import URGENT, Clock, State
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
    failed: bool = False        # its own power distribution failed (a `hall_power` intervention)
    temp_c: float = SETPOINT_C
    on_battery: bool = False
    cause: str = ""             # why the hall is in its current state

    @property
    def on(self) -> bool:
        return self.powered and not self.tripped and not self.failed


FacilityListener = Callable[[float, str, str, str], None]   # (t_s, role_or_hall, state, cause)
HallListener = Callable[[str, bool, str], None]              # (hall, on, cause)


class Facility:
    """The power chain of the primary site. Its state (`st`) is plain data; its waits are timers on
    the run's Clock (sim.clock), so a run can be saved and resumed at any step."""

    def __init__(self, clock: Clock, scenario: Scenario, halls: dict[str, dict],
                 on_change: FacilityListener, on_hall: HallListener) -> None:
        self.clock = clock
        self.s = scenario
        self.on_change = on_change
        self.on_hall = on_hall
        hall_states = {}
        for hid, h in halls.items():
            full = scenario.ups_minutes * 60.0 / h["ups_load"]
            hall_states[hid] = HallState(h["label"], h["ups_load"], full, full)
        self.st = State(
            utility_on=True,
            generator="standby",        # standby | starting | running | failed
            cooling="running",          # running | off | restarting
            halls=hall_states,
            drains={},                  # hall -> [timer token, when this stretch of draining started]
            gen_timer=None,
            cool_timer=None,
            thermal={},                 # hall -> timer of its next trip (heating) or restart (cooling)
            t_last=0.0,                 # temperatures and batteries are integrated up to here
            low_halls=1.0,              # fewest halls on after a hall went down since the last read
            utility_dipped=False,       # the utility feed was off at some moment since the last read
        )
        clock.register("facility.generator", self._generator_done)
        clock.register("facility.drain", self._drain_check)
        clock.register("facility.drain_poll", self._drain_poll)
        clock.register("facility.drain_empty", self._drain_empty)
        clock.register("facility.chiller", self._chiller_done)
        clock.register("facility.trip", self._trip)
        clock.register("facility.cooled", self._cooled)

    @property
    def halls(self) -> dict[str, HallState]:
        return self.st.halls

    @property
    def utility_on(self) -> bool:
        return self.st.utility_on

    @property
    def generator(self) -> str:
        return self.st.generator

    @property
    def cooling(self) -> str:
        return self.st.cooling

    # ---- supply ------------------------------------------------------------------------
    @property
    def supply_ok(self) -> bool:
        """Mains or generator power reaches the ATS output."""
        return self.st.utility_on or self.st.generator == "running"

    @property
    def cooling_powered(self) -> bool:
        # Chillers are not on the UPS [DOMAIN §2: cooling often NOT on UPS].
        return self.st.utility_on or (self.st.generator == "running" and self.s.cooling_on_generator)

    def set_utility(self, on: bool) -> None:
        """The utility feed goes off or comes back (a `power` intervention starts or ends)."""
        st = self.st
        if on == st.utility_on:
            return
        self._integrate()
        now = self.clock.now
        if not on:
            st.utility_dipped = True
        st.utility_on = on
        if on:
            self.on_change(now, "utility", "up", "utility power restored")
            if st.generator in ("running", "starting"):
                self._stop_generator("utility power back — generators return to standby")
            elif st.generator == "failed":
                st.generator = "standby"
                self.on_change(now, "generator", "up", "standby again — utility power back")
        else:
            self.on_change(now, "utility", "down", "utility feed lost (the cut in this scenario)")
            self._start_generator()
        self._supply_changed()

    def set_hall_failed(self, hid: str, failed: bool) -> None:
        """One hall's power distribution fails or is repaired (a `hall_power` intervention starts or
        ends): its racks lose power whatever the supply; the rest of the chain is untouched."""
        hall = self.st.halls[hid]
        if failed == hall.failed:
            return
        self._integrate()
        hall.failed = failed
        if failed:
            self._hall_changed(hid, f"{hall.label} lost power — its power distribution (PDU) failed")
        elif hall.on:
            self._hall_changed(hid, f"power back in {hall.label} — its PDU repaired")
        else:
            self._arm_thermal()

    def _start_generator(self) -> None:
        st = self.st
        if st.generator != "standby":
            return
        st.generator = "starting"
        self.on_change(self.clock.now, "generator", "recovering", "starting after utility loss")
        mode = self.s.generator
        delay = self.s.generator_delay_min * 60.0 if mode == "delayed" else GENERATOR_START_S
        st.gen_timer = self.clock.after(delay, "facility.generator")

    def _stop_generator(self, cause: str) -> None:
        self.clock.cancel(self.st.gen_timer)
        self.st.gen_timer = None
        self.st.generator = "standby"
        self.on_change(self.clock.now, "generator", "up", cause)

    def _generator_done(self) -> None:
        self._integrate()
        st, mode = self.st, self.s.generator
        st.gen_timer = None
        if mode == "fails":
            st.generator = "failed"
            self.on_change(self.clock.now, "generator", "down",
                           "failed to start [assumption: no official statement says why backup power did not hold]")
            return
        st.generator = "running"
        late = "" if mode == "ok" else f" — {self.s.generator_delay_min:.0f} min late [assumption]"
        self.on_change(self.clock.now, "generator", "up", f"carrying the load{late}")
        self._supply_changed()

    # ---- ATS, UPS, halls -----------------------------------------------------------------
    def _supply_changed(self) -> None:
        st, now = self.st, self.clock.now
        if self.supply_ok:
            source = "utility power" if st.utility_on else "generators"
            self.on_change(now, "ats", "up", f"load on {source}")
            self.on_change(now, "ups", "up", f"on {source}, recharging")
            for hid, hall in st.halls.items():
                drain = st.drains.pop(hid, None)
                if drain is not None:              # stop draining: the battery keeps what is left
                    self.clock.cancel(drain[0])
                    hall.battery_s = max(0.0, hall.battery_s - (now - drain[1]))
                hall.on_battery = False
                if not hall.powered:
                    hall.powered = True
                    if not hall.failed:         # a hall whose own PDU failed stays dark
                        self._hall_changed(hid, f"power back in {hall.label} — {source}")
        else:
            self.on_change(now, "ats", "degraded", "no source: utility lost and generators not running")
            runtimes = ", ".join(f"{h.label} {h.battery_s / 60:.1f} min" for h in st.halls.values())
            self.on_change(now, "ups", "degraded", f"on battery ({runtimes} left at this load)")
            for hid, hall in st.halls.items():
                if hall.powered and not hall.on_battery:
                    hall.on_battery = True
                    # as a new SimPy process would: later in this instant, before ordinary events
                    st.drains[hid] = [self.clock.after(0.0, "facility.drain", hid, priority=URGENT), now]
        self._cooling_changed()

    def _drain_check(self, hid: str) -> None:
        """A running hall drains its battery; a tripped one draws (almost) nothing and waits a step."""
        st, hall = self.st, self.st.halls[hid]
        drain = st.drains[hid]
        if hall.battery_s > 0:
            if hall.tripped or hall.failed:
                drain[0] = self.clock.after(self.s.step_s, "facility.drain_poll", hid)
            else:
                drain[0] = self.clock.after(hall.battery_s, "facility.drain_empty", hid)
            return
        del st.drains[hid]
        self._integrate()
        hall.powered = False
        hall.on_battery = False
        ran = (self.clock.now - drain[1]) / 60.0
        self.on_change(self.clock.now, "ups", "down", f"batteries exhausted in {hall.label}")
        self._hall_changed(hid, f"{hall.label} lost power — UPS batteries exhausted after {ran:.1f} min")

    def _drain_poll(self, hid: str) -> None:
        self.st.drains[hid][1] = self.clock.now
        self._drain_check(hid)

    def _drain_empty(self, hid: str) -> None:
        self.st.halls[hid].battery_s = 0.0
        self._drain_check(hid)

    def _hall_changed(self, hid: str, cause: str) -> None:
        hall = self.st.halls[hid]
        hall.cause = cause
        if not hall.on:
            self.st.low_halls = min(self.st.low_halls, self.halls_on_share())
        self.on_change(self.clock.now, f"hall:{hid}", "up" if hall.on else "down", cause)
        self.on_hall(hid, hall.on, cause)
        self._arm_thermal()

    # ---- cooling -------------------------------------------------------------------------
    def _cooling_changed(self) -> None:
        st = self.st
        if self.cooling_powered:
            if st.cooling == "off":
                st.cooling = "restarting"
                self.on_change(self.clock.now, "cooling", "recovering",
                               f"chillers restarting (~{self.s.chiller_restart_min:g} min) [assumption]")
                st.cool_timer = self.clock.after(self.s.chiller_restart_min * 60.0, "facility.chiller")
        elif st.cooling != "off":
            self.clock.cancel(st.cool_timer)
            st.cool_timer = None
            st.cooling = "off"
            why = "not on UPS" if not self.supply_ok else "not on the generators"
            self.on_change(self.clock.now, "cooling", "down", f"chillers stopped — {why}")
        self._arm_thermal()

    def _chiller_done(self) -> None:
        self._integrate()
        self.st.cool_timer = None
        self.st.cooling = "running"
        self.on_change(self.clock.now, "cooling", "up", "chillers running again")
        self._arm_thermal()

    # ---- temperature: piecewise linear between changes ---------------------------------------
    def _integrate(self) -> None:
        """Bring temperatures and batteries' recharge up to now under the conditions in force since
        the last change (called before every change, and by each step)."""
        st, now = self.st, self.clock.now
        dt = now - st.t_last
        if dt <= 0.0:
            return
        st.t_last = now
        running = st.cooling == "running"
        for hall in st.halls.values():
            if self.supply_ok and hall.battery_s < hall.battery_full_s:
                hall.battery_s = min(hall.battery_full_s, hall.battery_s + dt / UPS_RECHARGE_FACTOR)
            if hall.on and not running:
                hall.temp_c = min(THERMAL_TRIP_C, hall.temp_c + HEAT_RATE_C_PER_MIN / 60.0 * dt)
            else:
                rate = COOL_RATE_C_PER_MIN if running else PASSIVE_COOL_C_PER_MIN
                hall.temp_c = max(SETPOINT_C, hall.temp_c - rate / 60.0 * dt)

    def _arm_thermal(self) -> None:
        """The exact moment of each hall's next thermal change: a running hall without cooling trips
        at THERMAL_TRIP_C; a tripped hall with cooling back restarts at THERMAL_RESTART_C."""
        st = self.st
        running = st.cooling == "running"
        for hid, hall in st.halls.items():
            self.clock.cancel(st.thermal.pop(hid, None))
            if hall.on and not running:
                wait = (THERMAL_TRIP_C - hall.temp_c) / (HEAT_RATE_C_PER_MIN / 60.0)
                st.thermal[hid] = self.clock.after(round(wait, 6), "facility.trip", hid)   # no 1290.0000000000005
            elif hall.tripped and running:
                wait = max(0.0, hall.temp_c - THERMAL_RESTART_C) / (COOL_RATE_C_PER_MIN / 60.0)
                st.thermal[hid] = self.clock.after(round(wait, 6), "facility.cooled", hid)

    def _trip(self, hid: str) -> None:
        self._integrate()
        st, hall = self.st, self.st.halls[hid]
        st.thermal.pop(hid, None)
        hall.temp_c = THERMAL_TRIP_C
        hall.tripped = True
        hall.cause = f"{hall.label} shut down — overheated ({THERMAL_TRIP_C:.0f} °C): cooling {st.cooling}"
        st.low_halls = min(st.low_halls, self.halls_on_share())
        self.on_change(self.clock.now, f"hall:{hid}", "down", hall.cause)
        self.on_hall(hid, False, hall.cause)
        self._arm_thermal()

    def _cooled(self, hid: str) -> None:
        self._integrate()
        hall = self.st.halls[hid]
        self.st.thermal.pop(hid, None)
        hall.tripped = False
        if hall.powered and not hall.failed:
            self._hall_changed(hid, f"{hall.label} restarted — cooled to {hall.temp_c:.0f} °C")
        else:
            self._arm_thermal()

    def advance(self, dt: float = 0.0) -> None:
        """Bring temperatures and batteries up to now (each step calls it before reading them)."""
        self._integrate()

    def read_dips(self) -> tuple[float, bool]:
        """(fewest halls on, utility off at any moment) since the last read, then reset to now: a
        blackout shorter than a step still shows in that step."""
        st = self.st
        low, dipped = min(st.low_halls, self.halls_on_share()), st.utility_dipped or not st.utility_on
        st.low_halls, st.utility_dipped = 1.0, False
        return low, dipped

    def hottest_c(self) -> float:
        return max(h.temp_c for h in self.st.halls.values())

    def halls_on_share(self) -> float:
        return sum(h.on for h in self.st.halls.values()) / len(self.st.halls)
