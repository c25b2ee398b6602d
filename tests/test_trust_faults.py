"""Faults during a recording, judged by what was kept: a full disk, a database locked by another program, and a
wall clock that jumps back an hour. Rows, values and times are asserted, not just the absence of a crash."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine
from store_fakes import DiskFull, PacedMonitor, ScriptedMonitor, rows, stored_readings, stored_wave_rows

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.bed.station import Station
from kapmonitor.core import clock
from kapmonitor.core.readings import Item, LinkEvent, Reading
from kapmonitor.store import db
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import RECORDER_DEVICE, Recorder
from kapmonitor.store.repository import SessionRepository

T0 = 1_763_700_000_000_000
DEV = "nonin-df7@/dev/ttyUSB0"
HOUR_NS = 3600 * 1_000_000_000


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "faults.sqlite"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


def spo2(value: int, k: int) -> Reading:
    return Reading("spo2", float(value), "%", t_us=T0 + k * 1_000_000, device=DEV)


class Published:
    """Stands in for the hub: keeps what the recorder announces, and feeds it back as the hub would."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.recorder: Recorder | None = None

    def __call__(self, items: Sequence[Item]) -> None:
        self.items.extend(items)
        if self.recorder is not None:
            self.recorder.write(items)

    def kinds(self) -> list[str]:
        return [i.kind for i in self.items if isinstance(i, LinkEvent)]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_a_full_disk_is_announced_once_and_every_row_arrives_after_recovery(engine: Engine) -> None:
    session = SessionRepository(engine).start_session("P-001")
    fault = DiskFull(engine)
    hub = Published()
    recorder = hub.recorder = Recorder(engine, publish=hub)
    try:
        recorder.begin(session)
        recorder.write([spo2(v, k) for k, v in enumerate(range(90, 95))])
        assert not recorder.flush(timeout=0.5)
        recorder.write([spo2(v, k) for k, v in enumerate(range(95, 100), start=5)])
        assert not recorder.flush(timeout=0.5)  # retried at least once more: still announced only once
        assert hub.kinds() == ["recording_failed"]
        failed = hub.items[0]
        assert isinstance(failed, LinkEvent) and failed.device == RECORDER_DEVICE
        assert "database or disk is full" in failed.detail
        assert rows(engine, "SELECT count(*) FROM numeric_reading") == [(0,)]

        fault.failing = False
        wait_for(lambda: "recording_resumed" in hub.kinds(), "recording_resumed")
        assert recorder.flush(timeout=30)
    finally:
        recorder.stop()
    assert hub.kinds() == ["recording_failed", "recording_resumed"]
    assert recorder.failure is None and recorder.dropped_rows == 0
    assert [(r.value,) for r in stored_readings(engine)] == [
        (float(v),) for v in range(90, 100)
    ]
    # The gap is on file with the session, from the recorder's own device.
    stored = rows(
        engine, "SELECT d.device, e.kind FROM link_event e JOIN device d ON d.id = e.device_id ORDER BY e.id"
    )
    assert stored == [(RECORDER_DEVICE, "recording_failed"), (RECORDER_DEVICE, "recording_resumed")]


def test_the_alarm_engine_raises_and_clears_its_technical_alarm_on_the_recorders_events(
    engine: Engine,
) -> None:
    session = SessionRepository(engine).start_session("P-001")
    fault = DiskFull(engine)
    hub = Published()
    recorder = Recorder(engine, publish=hub)
    alarms = AlarmEngine(builtin_profile("adult"))
    try:
        recorder.begin(session)
        recorder.write([spo2(97, 0)])
        wait_for(lambda: bool(hub.items), "recording_failed")
        raised = alarms.process(hub.items)
        fault.failing = False
        wait_for(lambda: len(hub.items) == 2, "recording_resumed")
        cleared = alarms.process(hub.items[1:])
    finally:
        recorder.stop()
    assert [(e.alarm, e.kind, e.state) for e in raised] == [("recording_failed", "technical", "active")]
    assert [e.alarm for e in cleared] == ["recording_failed"] and cleared[0].state != "active"


def test_a_disk_that_stays_full_bounds_memory_keeping_the_newest_rows_and_counting_the_rest(
    engine: Engine,
) -> None:
    session = SessionRepository(engine).start_session("P-001")
    fault = DiskFull(engine)
    hub = Published()
    recorder = Recorder(engine, publish=hub, max_pending_rows=4)
    try:
        recorder.begin(session)
        for k in range(10):
            recorder.write([spo2(80 + k, k)])
        assert not recorder.flush(timeout=0.5)
        assert recorder.dropped_rows == 6
        assert recorder.failure is not None and "6 oldest rows dropped" in recorder.failure
        fault.failing = False
        assert recorder.flush(timeout=30)
    finally:
        recorder.stop()
    assert [(r.value,) for r in stored_readings(engine)] == [
        (86.0,),
        (87.0,),
        (88.0,),
        (89.0,),
    ]
    assert hub.kinds() == ["recording_failed", "recording_resumed"]


class ExclusiveLock:
    """Another program holding the database: a second sqlite3 connection inside BEGIN EXCLUSIVE."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


def test_writes_wait_for_a_short_lock_by_another_program_and_then_succeed(
    engine: Engine, db_path: Path
) -> None:
    session = SessionRepository(engine).start_session("P-001")
    recorder = Recorder(engine)
    lock = ExclusiveLock(db_path)
    try:
        recorder.begin(session)
        recorder.write([spo2(v, k) for k, v in enumerate(range(90, 96))])
        assert not recorder.flush(timeout=0.3)  # cannot commit while the other program holds the lock
        lock.release()
        assert recorder.flush(timeout=30)
    finally:
        recorder.stop()
    assert recorder.failure is None
    assert [(r.value,) for r in stored_readings(engine)] == [
        (float(v),) for v in range(90, 96)
    ]


def test_a_lock_held_past_the_busy_timeout_is_reported_buffered_and_nothing_is_lost(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_database(f"sqlite:///{db_path}").dispose()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 50)  # give up waiting quickly, so the test need not wait 5 s
    engine = db.engine_for(f"sqlite:///{db_path}")
    session = SessionRepository(engine).start_session("P-001")
    hub = Published()
    recorder = hub.recorder = Recorder(engine, publish=hub)
    lock = ExclusiveLock(db_path)
    try:
        recorder.begin(session)
        recorder.write([spo2(v, k) for k, v in enumerate(range(90, 96))])
        wait_for(lambda: recorder.failure is not None, "the recorder to report the lock")
        assert recorder.failure is not None and "database is locked" in recorder.failure
        recorder.write([spo2(99, 10)])  # still recording into memory
        lock.release()
        wait_for(lambda: "recording_resumed" in hub.kinds(), "recording_resumed")
        assert recorder.flush(timeout=30)
    finally:
        recorder.stop()
        engine.dispose()
    check = open_database(f"sqlite:///{db_path}")
    try:
        values = [(r.value,) for r in stored_readings(check)]
        kinds = rows(check, "SELECT kind FROM link_event ORDER BY id")
    finally:
        check.dispose()
    assert values == [(float(v),) for v in [*range(90, 96), 99]]
    assert kinds == [("recording_failed",), ("recording_resumed",)]


def test_the_station_publishes_recorder_failures_on_its_hub(db_path: Path) -> None:
    station = Station(f"sqlite:///{db_path}")
    seen: list[Item] = []
    station.subscribe(seen.extend)
    monitor = ScriptedMonitor(DEV)
    station.add_transport(monitor)
    station.start()
    try:
        station.start_session("P-001")
        fault = DiskFull(station.database)
        monitor.send([spo2(97, 0)])
        wait_for(lambda: any(getattr(i, "kind", "") == "recording_failed" for i in seen), "recording_failed")
        fault.failing = False
        wait_for(
            lambda: any(getattr(i, "kind", "") == "recording_resumed" for i in seen), "recording_resumed"
        )
    finally:
        station.stop()
    check = open_database(f"sqlite:///{db_path}")
    try:
        assert [r.value for r in stored_readings(check)] == [97.0]
    finally:
        check.dispose()


def test_the_host_clock_keeps_counting_when_the_wall_clock_jumps_and_follows_it_only_when_reanchored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = clock.AnchoredClock()
    before = host.now_us()
    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() - HOUR_NS)
    after = host.now_us()
    assert 0 <= after - before < 60 * 1_000_000  # not an hour back
    assert host.wall_offset_us() < -3500 * 1_000_000  # the jump is visible, so it can be reported
    host.reanchor()
    assert host.now_us() < after - 3500 * 1_000_000
    assert abs(host.wall_offset_us()) < 60 * 1_000_000


def test_a_wall_clock_set_back_an_hour_mid_session_keeps_times_in_order_and_the_duration_right(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    station = Station(f"sqlite:///{db_path}")
    monitor = PacedMonitor()  # stamps its readings with kapmonitor.core.clock.now_us(), as transports do
    station.add_transport(monitor)
    station.start()
    recorder = station.recorder
    assert recorder is not None

    def readings() -> int:
        recorder.flush(timeout=5)
        return len(stored_readings(station.database))

    try:
        started = time.monotonic()
        session = station.start_session("P-001")
        wait_for(lambda: readings() >= 3, "readings before the jump")
        real = time.time_ns
        monkeypatch.setattr(time, "time_ns", lambda: real() - HOUR_NS)
        jumped_at = readings()
        wait_for(lambda: readings() >= jumped_at + 3, "readings after the jump")
        station.stop_session()
        elapsed_us = (time.monotonic() - started) * 1_000_000
    finally:
        station.stop()
    check = open_database(f"sqlite:///{db_path}")
    try:
        times = [r.t_us for r in stored_readings(check)]  # in the order they were stored
        waves = [w[0] for w in stored_wave_rows(check)]
        ((start, end),) = rows(check, f"SELECT start_us, end_us FROM session WHERE id = {session}")
    finally:
        check.dispose()
    assert times == sorted(times) and len(set(times)) == len(times)
    assert len(set(waves)) == len(waves) and waves[-1] <= end
    assert start <= times[0] and times[-1] <= end
    assert 0 < end - start <= elapsed_us  # not an hour negative, not longer than it really ran
