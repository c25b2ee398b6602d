"""A Station wires devices, hub, live buffers and recorder: items a device publishes end up on screen and on
disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from store_fakes import ScriptedMonitor

from kapmonitor.bed.station import Station
from kapmonitor.core.readings import Reading, WaveChunk
from kapmonitor.devices.links.transport import LinkState

T0 = 1_763_700_000_000_000


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_station_records_what_its_devices_publish(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 's.sqlite'}")
    monitor = ScriptedMonitor("scripted@bed-1")
    station.add_transport(monitor)
    try:
        station.start()
        monitor.send([Reading("spo2", 99.0, "%", t_us=T0 - 1, device=monitor.device)])  # before the session
        wait_for(lambda: station.buffers.latest((monitor.device, "spo2")) is not None)
        session = station.start_session("KAP-0007", "IM ketamine")
        assert station.session_id == session
        monitor.send(
            [
                Reading("spo2", 97.0, "%", t_us=T0, device=monitor.device),
                WaveChunk("pleth", 75.0, tuple(range(25)), t_us=T0, device=monitor.device),
                WaveChunk("pleth", 75.0, tuple(range(25, 50)), t_us=T0 + 333_333, device=monitor.device),
            ]
        )
        wait_for(lambda: station.buffers.total((monitor.device, "pleth")) == 50)
        station.stop_session()
        assert station.session_id is None
        [status] = station.statuses()
        assert (status.device, status.state) == ("scripted@bed-1", LinkState.CONNECTED)
        detail = station.repository.session_detail(session)
    finally:
        station.stop()
        station.stop()
    assert (detail["patient"], detail["protocol"], detail["status"]) == ("KAP-0007", "IM ketamine", "ended")
    assert [(t["metric"], t["samples"]) for t in detail["tracks"]] == [("pleth", 50), ("spo2", 1)]
    assert detail["devices"] == [{"device": "scripted@bed-1", "protocol": "scripted", "address": "bed-1"}]


def test_stopping_the_station_ends_a_running_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    station = Station(url)
    monitor = ScriptedMonitor()
    station.add_transport(monitor)
    station.start()
    session = station.start_session("KAP-0008")
    monitor.send([Reading("pulse_rate", 64.0, "bpm", t_us=T0, device=monitor.device)])
    station.stop()
    assert monitor.state == LinkState.STOPPED
    reopened = Station(url, record=False)
    try:
        [listed] = reopened.repository.list_sessions()
        with pytest.raises(RuntimeError):
            reopened.start_session("KAP-0009")
    finally:
        reopened.stop()
    assert (listed["id"], listed["status"]) == (session, "ended")
    assert [(t["metric"], t["samples"]) for t in listed["tracks"]] == [("pulse_rate", 1)]


def test_a_device_added_while_running_starts_and_is_recorded(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        station.start()
        session = station.start_session("KAP-0010")
        late = ScriptedMonitor("late@bed-2")
        station.add_transport(late)
        assert late.state == LinkState.CONNECTED
        late.send([Reading("heart_rate", 70.0, "bpm", t_us=T0, device=late.device)])
        with pytest.raises(RuntimeError):
            station.start_session("KAP-0011")
    finally:
        station.stop()
    detail = station.repository.session_detail(session)
    assert [(t["device"], t["metric"]) for t in detail["tracks"]] == [("late@bed-2", "heart_rate")]
    assert [e["kind"] for e in detail["link_events"]] == ["connected", "stopped"]




def test_a_simulated_oximeter_in_process_is_recorded(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        transport = station.add_simulated("nonin-df7", via_pty=False)
        station.start()
        session = station.start_session("SIM-0001")
        wait_for(lambda: station.buffers.total((transport.device, "pleth")) >= 75)
        station.stop_session()
    finally:
        station.stop()
    metrics = {t["metric"] for t in station.repository.session_detail(session)["tracks"]}
    assert "pleth" in metrics
