"""A station's alarm engine watches its hub, beats on the "kapmonitor-alarm-tick" thread, and keeps the alarm
log of the running session (raised, acknowledged, paused, cleared, and who acted)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kapmonitor.alarms import AlarmEvent
from kapmonitor.bed.station import RECORDER_DEVICE, Station
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading
from kapmonitor.store.alarm_log import alarm_events

OXIMETER = "nonin-df7@bed-1"


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def spo2(value: float, t_us: int) -> Reading:
    return Reading("spo2", value, "%", t_us=t_us, device=OXIMETER)


def test_a_desaturation_in_a_session_is_logged_with_who_acknowledged_and_paused(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 's.sqlite'}")
    heard: list[AlarmEvent] = []
    station.subscribe_alarms(heard.extend)
    try:
        station.start()
        assert "kapmonitor-alarm-tick" in {t.name for t in threading.enumerate()}
        session = station.start_session("KAP-0007")
        t0 = now_us()
        station.hub.publish([spo2(80.0, t0), spo2(79.0, t0 + 11_000_000)])  # below 85 for 11 s
        wait_for(lambda: any(e.alarm == "spo2_desat" for e in heard))  # delivered by the tick thread
        [desat] = [a for a in station.alarm_engine.active() if a.alarm == "spo2_desat"]
        assert desat.priority == "high"
        station.alarm_engine.pause_audio(seconds=120, user="RN Diaz")
        station.alarm_engine.acknowledge(desat.alarm_id, "RN Diaz")
        station.hub.publish([spo2(97.0, t0 + 20_000_000)])
        wait_for(lambda: any(e.alarm == "spo2_low" and e.state == "cleared" for e in heard))
        station.stop_session()
        logged = [(e.alarm, e.state, e.user) for e in alarm_events(station.database, session)]
    finally:
        station.stop()
    assert ("spo2_desat", "active", "") in logged
    assert ("audio_paused", "paused", "RN Diaz") in logged
    assert ("spo2_desat", "paused", "RN Diaz") in logged
    assert ("spo2_desat", "acknowledged", "RN Diaz") in logged
    assert ("spo2_desat", "cleared", "") in logged  # acknowledged, so it does not latch once the SpO2 is back
    assert [(a, s) for a, s, _ in logged] == [(e.alarm, e.state) for e in heard]


def test_a_recorder_that_cannot_write_raises_the_high_technical_alarm(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        assert station.recorder is not None
        station.recorder.failure = "cannot write to the database (disk I/O error)"
        raised = station.alarm_ticker.pump()
        assert [(e.alarm, e.priority, e.state, e.device) for e in raised] == [
            ("recording_failed", "high", "active", RECORDER_DEVICE)
        ]
        station.recorder.failure = None
        assert [(e.alarm, e.state) for e in station.alarm_ticker.pump()] == [("recording_failed", "cleared")]
    finally:
        station.stop()


def test_the_alarm_profile_is_configurable(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 's.sqlite'}", alarm_profile="adult")
    try:
        assert station.alarm_engine.profile.name == "adult"
        assert Station.__init__.__kwdefaults__["alarm_profile"] == "kap-clinic"
    finally:
        station.stop()
