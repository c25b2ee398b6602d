"""A stand-in for kapmonitor.bed.station.Station for window tests that script exact values and link states: the
same port the window uses (kapmonitor.bed.port.BedPort), a real Hub, LiveBuffers and alarm engine, no devices,
and no database unless the test hands it ``records``. Tests publish real Readings and WaveChunks through it
(tests/test_ui_app.py and the session tests run the real Station instead).

Only ``publish`` and ``set_statuses`` are test conveniences; limit changes are applied but not audited.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kapmonitor.alarms import AlarmEngine, AlarmEvent, LimitProfile
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.alarms.ticker import AlarmSink
from kapmonitor.bed.port import Records
from kapmonitor.core.hub import Hub
from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Item, Reading, WaveChunk
from kapmonitor.devices.base import LinkStats
from kapmonitor.devices.links.transport import DeviceStatus, LinkState, Transport

OXIMETER = "nonin-df7@/tmp/kapmonitor/nonin-df7"
CUFF = "suntech-advantage@sim"


class StationDouble:
    def __init__(self, records: Records | None = None) -> None:
        self.hub = Hub()
        self.buffers = LiveBuffers()
        self.hub.subscribe(self.buffers.write)
        self.session_id: int | None = None
        self.started_sessions: list[tuple[str, str]] = []
        self.stopped_sessions: list[int] = []
        self.fail_next_start: Exception | None = None
        self._statuses: list[DeviceStatus] = []
        self.records = records
        self.user = ""
        self.alarm_engine = AlarmEngine(builtin_profile("kap-clinic"))
        self.alarm_sinks: list[AlarmSink] = []
        self._transports: list[Transport] = []
        self.simulated: list[str] = []
        self.unavailable: set[str] = set()  # protocols add_simulated refuses, as a build without them would
        self.running = False
        self.stopped = False

    # --- the Station API the window uses
    def statuses(self) -> list[DeviceStatus]:
        return list(self._statuses)

    def start_session(self, patient: str, protocol: str = "", *, room: str = "", prescriber: str = "") -> int:
        if self.fail_next_start is not None:
            error, self.fail_next_start = self.fail_next_start, None
            raise error
        self.started_sessions.append((patient, protocol))
        self.session_id = len(self.started_sessions)
        return self.session_id

    def stop_session(self) -> None:
        if self.session_id is not None:
            self.stopped_sessions.append(self.session_id)
        self.session_id = None

    def resume_session(self, session_id: int, *, user: str = "") -> None:
        self.session_id = session_id

    def subscribe_alarms(self, sink: AlarmSink) -> None:
        self.alarm_sinks.append(sink)

    def change_alarm_limit(
        self, key: str, *, reason: str = "", user: str | None = None, now_us: int | None = None, **changes: object
    ) -> list[AlarmEvent]:
        who = self.user if user is None else user
        return self.alarm_engine.override_limit(key, user=who, reason=reason, now_us=now_us, **changes)

    def set_alarm_profile(self, profile: LimitProfile, *, user: str | None = None) -> list[AlarmEvent]:
        return self.alarm_engine.set_profile(profile)

    @property
    def transports(self) -> list[Transport]:
        return list(self._transports)

    def add_transport(self, transport: Transport) -> None:
        self._transports.append(transport)

    def remove_transport(self, transport: Transport) -> None:
        if transport in self._transports:
            self._transports.remove(transport)
            transport.stop()

    def subscribe(self, sink) -> None:  # noqa: ANN001 - a hub Sink
        self.hub.subscribe(sink)

    def add_simulated(self, protocol: str, *, model: object = None, via_pty: bool = True) -> object:
        if protocol in self.unavailable:
            raise KeyError(f"unknown protocol {protocol!r}")
        self.simulated.append(protocol)
        return protocol

    def add_simulated_bluetooth(self, profiles: tuple[str, ...] = (), *, address: str = "") -> object:
        self.simulated.append("+".join(profiles) or "ble")
        return address

    def start(self) -> None:
        """The real Station starts its hub thread here; the double delivers synchronously in ``publish``."""
        self.running = True

    def stop(self) -> None:
        self.running, self.stopped = False, True
        self.hub.stop()

    # --- test conveniences
    def publish(self, items: Sequence[Item]) -> None:
        self.hub.publish(items)
        self.hub.drain()

    def set_statuses(self, statuses: list[DeviceStatus]) -> None:
        self._statuses = list(statuses)


def reading(
    metric: str, value: float | None, t_us: int, device: str = OXIMETER, flags: frozenset[str] = frozenset()
):
    units = {"spo2": "%", "pulse_rate": "bpm", "perfusion_index": "%"}
    return Reading(metric, value, units.get(metric, "mmHg"), flags, None, t_us, device)


def status(device: str, state: LinkState, last_data_us: int | None, frames: int = 0, errors: int = 0):
    protocol, _, address = device.partition("@")
    return DeviceStatus(
        device, protocol, address, state, LinkStats(frames_ok=frames, checksum_errors=errors), last_data_us
    )


def pleth_shape(t_s: np.ndarray, pulse_bpm: float) -> np.ndarray:
    """A plausible pleth pulse: a sharp upstroke, a dicrotic notch, 0..~230 device units."""
    phase = (t_s * pulse_bpm / 60.0) % 1.0
    systolic = np.exp(-((phase - 0.15) ** 2) / 0.004)
    dicrotic = 0.35 * np.exp(-((phase - 0.45) ** 2) / 0.006)
    return 30 + 200 * (systolic + dicrotic) / 1.1


def session_history(now_us: int, minutes: int = 40) -> list[Item]:
    """What 40 minutes of an esketamine session look like: SpO2 high 90s with a brief dip, pulse drifting up,
    blood pressure every 5 minutes rising to a peak around 40 minutes, and the last 10 s of pleth."""
    items: list[Item] = []
    start_us = now_us - minutes * 60 * 1_000_000
    for second in range(minutes * 60):
        t_us = start_us + second * 1_000_000
        minute = second / 60
        dip = 4.0 * math.exp(-((minute - 22) ** 2) / 2.0)
        spo2 = round(97 + math.sin(second / 47) * 0.8 - dip)
        pulse = round(72 + minute * 0.3 + 3 * math.sin(second / 90))
        items.append(reading("spo2", spo2, t_us))
        items.append(reading("pulse_rate", pulse, t_us))
        items.append(reading("perfusion_index", round(2.4 + 0.3 * math.sin(second / 120), 1), t_us))
    for minute in range(0, minutes + 1, 5):
        t_us = start_us + minute * 60 * 1_000_000 - 2_000_000
        rise = 30 * math.exp(-((minute - 38) ** 2) / 200.0)
        systolic, diastolic = round(122 + rise), round(78 + rise * 0.55)
        mean = round((systolic + 2 * diastolic) / 3)
        for metric, value in (
            ("nibp_systolic", systolic),
            ("nibp_diastolic", diastolic),
            ("nibp_mean", mean),
        ):
            items.append(reading(metric, value, t_us, device=CUFF))
    rate = 75.0
    first_us = now_us - 10 * 1_000_000
    t = np.arange(int(10 * rate)) / rate
    samples = pleth_shape(t, 84).astype(int)
    for start in range(0, len(samples), 75):
        chunk = tuple(int(x) for x in samples[start : start + 75])
        items.append(
            WaveChunk("pleth", rate, chunk, frozenset(), first_us + int(start / rate * 1e6), OXIMETER)
        )
    return items
