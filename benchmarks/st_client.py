"""A minimal Streamlit client speaking the browser's WebSocket protocol (protobuf BackMsg/ForwardMsg
from `streamlit.proto`), for load tests: 30 of these cost the client almost nothing, so the
server's figures are not distorted by 30 browsers competing for the same 2 cores.

It does what the Explainer's front end does on the wire: opens a session (a `rerun_script` with no
widget states), then sends reruns with the widget states the browser would send — and, as the
browser does for a widget drawn inside an `st.fragment`, that fragment's id, so only the fragment
reruns — the player's
power-switch event (`json_trigger_value` on the component's `__events` widget) or a new selectbox
value, or the player's request for the rest of a run after its first minutes (`rest`) — and reads
ForwardMsgs until `script_finished`. It does not draw anything: "rendered"
here means the server has sent everything the page needs (the browser's own drawing time is
measured separately, with real browsers, by benchmarks/load.py --client browser).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

PLAYER = "explainer_player"
PRESET, CUT, RESTORE = "explainer_preset", "explainer_cut_min", "explainer_restore_min"


@dataclass
class Run:
    """What one script run sent back."""
    seconds: float
    status: str                                  # ScriptFinishedStatus name, or "timeout"/"closed"
    payload: dict | None = None                  # the player component's JSON data, if sent in full
    payload_ref: bool = False                    # the component was sent as a reference to a cached message
    exceptions: list[str] = field(default_factory=list)
    bytes_received: int = 0


class Session:
    """One visitor's WebSocket session on the app's main page."""

    def __init__(self, url: str):
        self.base = url if url.endswith("/") else url + "/"
        self.ws = None
        self.widgets: dict[str, str] = {}        # user key → widget id
        self.fragments: dict[str, str] = {}      # user key → the id of the fragment it is drawn in
        self.options: dict[str, list[str]] = {}  # selectbox key → option labels
        self.values: dict[str, str] = {}         # selectbox key → current label
        self.numbers: dict[str, float | None] = {}   # number input key → value the server set (None: empty)
        self.page_hash = ""
        self.cached: set[str] = set()

    async def connect(self, timeout: float) -> None:
        from websockets.asyncio.client import connect  # noqa: PLC0415 — installed with uvicorn
        host = self.base.split("//", 1)[1].rstrip("/")
        self.ws = await connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                origin=f"http://{host}", compression=None, proxy=None, max_size=None,
                                open_timeout=timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    def _back(self, states: list[tuple[str, str, object]], fragment: str = "") -> bytes:
        msg = BackMsg()
        rr = msg.rerun_script
        if fragment:                             # the browser reruns only the fragment the widget is in
            rr.fragment_id = fragment
        for wid, kind, value in states:
            w = rr.widget_states.widgets.add()
            w.id = wid
            if kind == "string":
                w.string_value = str(value)
            elif kind == "json_trigger":
                w.json_trigger_value = str(value)
            elif kind == "double":
                w.double_value = float(value)
        if self.page_hash:
            rr.page_script_hash = self.page_hash
        rr.cached_message_hashes.extend(sorted(self.cached))
        ci = rr.context_info
        ci.timezone, ci.timezone_offset, ci.locale, ci.url = "UTC", 0, "en-US", self.base
        ci.is_embedded, ci.color_scheme = False, "light"
        return msg.SerializeToString()

    def _current_states(self) -> list[tuple[str, str, object]]:
        out = [(self.widgets[PRESET], "string", self.values.get(PRESET, ""))] if PRESET in self.widgets else []
        # the scheduled times hold what the server last set (a flip of the switch moves the first cut),
        # as a browser's number inputs do; empty ("never") until the server sets them
        out += [(self.widgets[k], "double", self.numbers[k]) if self.numbers.get(k) is not None
                else (self.widgets[k], "none", None) for k in (CUT, RESTORE) if k in self.widgets]
        return out

    async def _run(self, data: bytes, timeout: float) -> Run:
        import asyncio  # noqa: PLC0415
        t0 = time.perf_counter()
        await self.ws.send(data)
        run = Run(0.0, "timeout")
        deadline = t0 + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except asyncio.TimeoutError:
                break
            except Exception:  # noqa: BLE001 — the connection closed
                run.status = "closed"
                break
            run.bytes_received += len(raw)
            fm = ForwardMsg.FromString(raw)
            kind = fm.WhichOneof("type")
            if fm.metadata.cacheable and fm.hash:
                self.cached.add(fm.hash)
            if kind == "navigation" and fm.navigation.page_script_hash:
                # the page being shown, as the browser learns it (an element's active_script_hash may be
                # app.py's: app.py draws into the sidebar around the page)
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "ref_hash":
                run.payload_ref = True
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                self._element(fm, run)
            elif kind == "script_finished":
                run.status = ForwardMsg.ScriptFinishedStatus.Name(fm.script_finished)
                if run.status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY":
                    run.status = "FINISHED_SUCCESSFULLY"   # a fragment's rerun: as good as a whole one
                if run.status != "FINISHED_EARLY_FOR_RERUN":
                    break
        run.seconds = time.perf_counter() - t0
        return run

    def _element(self, fm: ForwardMsg, run: Run) -> None:
        el = fm.delta.new_element
        kind = el.WhichOneof("type")
        if kind in ("selectbox", "number_input"):
            w = getattr(el, kind)
            key = w.id.rsplit("-", 1)[-1]
            self.widgets[key] = w.id
            self.fragments[key] = fm.delta.fragment_id
            if kind == "number_input" and w.set_value:
                self.numbers[key] = w.value if w.HasField("value") else None
            if kind == "selectbox":
                self.options[key] = list(w.options)
                if w.HasField("raw_value"):      # the server set the value (set_value)
                    self.values[key] = w.raw_value
                elif key not in self.values and w.HasField("default") and 0 <= w.default < len(w.options):
                    self.values[key] = w.options[w.default]
        elif kind == "bidi_component":
            bc = el.bidi_component
            self.widgets[bc.id.rsplit("-", 1)[-1]] = bc.id
            self.fragments[bc.id.rsplit("-", 1)[-1]] = fm.delta.fragment_id
            if bc.json:
                run.payload = json.loads(bc.json)
        elif kind == "exception":
            run.exceptions.append(f"{el.exception.type}: {el.exception.message[:200]}")
        elif kind == "alert" and el.alert.format == 1:  # ERROR
            run.exceptions.append(f"error shown: {el.alert.body[:200]}")

    async def open(self, timeout: float) -> Run:
        """The first run, as when the page is opened."""
        return await self._run(self._back([]), timeout)

    async def flip(self, t_s: float, power_on: bool, timeout: float) -> tuple[Run, str]:
        """Click the player's power switch at simulated time t_s; returns the run and the click id."""
        click = uuid.uuid4().hex[:15]
        event = json.dumps([{"event": "power_switch", "value": {"t": t_s, "on": power_on, "click_id": click}}])
        wid = "$$STREAMLIT_INTERNAL_KEY_" + self.widgets[PLAYER] + "__events"
        return await self._run(self._back(self._current_states() + [(wid, "json_trigger", event)],
                                          self.fragments.get(PLAYER, "")), timeout), click

    async def rest(self, run_id: str, timeout: float) -> Run:
        """Ask for the whole run after the first minutes of it arrived (as the player does)."""
        event = json.dumps([{"event": "rest", "value": {"id": run_id}}])
        wid = "$$STREAMLIT_INTERNAL_KEY_" + self.widgets[PLAYER] + "__events"
        return await self._run(self._back(self._current_states() + [(wid, "json_trigger", event)],
                                          self.fragments.get(PLAYER, "")), timeout)

    async def choose(self, label: str, timeout: float) -> Run:
        """Pick a scenario in the selectbox (by its label)."""
        self.values[PRESET] = label
        return await self._run(self._back(self._current_states(), self.fragments.get(PRESET, "")), timeout)
