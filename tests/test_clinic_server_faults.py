"""The clinic's PostgreSQL server restarting in the middle of a session: the station keeps the recording in
memory, says so (a high technical alarm, "recording_failed" then "recording_resumed" on file), and once the
server is back every sample is written, the pleth without a hole."""

from __future__ import annotations

import time

import numpy as np
from store_fakes import PacedMonitor, rows, stored_wave_rows

from kapmonitor.bed.station import Station
from kapmonitor.core.readings import Item
from kapmonitor.store.db import open_database
from kapmonitor.store.pg_server import LocalServer
from kapmonitor.store.wave_codec import decode


def wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_server_restart_mid_session_loses_no_sample_and_is_on_file(pg_server: LocalServer) -> None:
    url = pg_server.create_database("restart_mid_session")
    station = Station(url, bed="chair 4")
    seen: list[Item] = []
    station.subscribe(seen.extend)
    heard: list[str] = []
    station.subscribe_alarms(lambda events: heard.extend(f"{e.alarm}:{e.state}" for e in events))
    monitor = PacedMonitor("nonin-df7@/dev/ttyUSB0")
    station.add_transport(monitor)
    station.start()
    try:
        session_id = station.start_session("KAP-0004")
        time.sleep(1.0)
        pg_server.stop()  # the server goes down (a restart, an upgrade, a failover)
        wait_for(lambda: any(getattr(i, "kind", "") == "recording_failed" for i in seen), "recording_failed")
        wait_for(lambda: "recording_failed:active" in heard, "the technical alarm")
        time.sleep(1.0)  # still streaming into memory
        pg_server.start()
        wait_for(lambda: any(getattr(i, "kind", "") == "recording_resumed" for i in seen), "recording_resumed")
        time.sleep(0.5)
        station.stop_session()
    finally:
        station.stop()
    check = open_database(url)
    try:
        kinds = [k for (k,) in rows(check, f"SELECT kind FROM link_event WHERE session_id = {session_id} ORDER BY id")]
        chunks = [(w[3], w[2]) for w in stored_wave_rows(check)]  # staged or packed, in time order
    finally:
        check.dispose()
    assert kinds.index("recording_failed") < kinds.index("recording_resumed")
    samples = np.concatenate([decode(blob, n) for blob, n in chunks])
    assert samples[0] == 0 and len(samples) > 75 * 3  # more than the three seconds streamed around the outage
    assert np.array_equal(samples, np.arange(len(samples)))  # every sample, in order, no gap, no duplicate
