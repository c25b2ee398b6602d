"""After a crash: a session left "in_progress" by a dead kapmonitor is found, and either resumed or closed with
the gap on file. A session whose recording process still lives is never offered."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from store_fakes import ScriptedMonitor, rows, stored_readings

from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.errors import UserError
from kapmonitor.core.readings import Reading
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import open_database
from kapmonitor.store.record_proof import verify_record
from kapmonitor.store.recovery import (
    SESSION_INTERRUPTED,
    SESSION_RESUMED,
    STALE_AFTER_S,
    STATION_DEVICE,
    SessionRecovery,
    interrupted_sessions,
    this_process,
)
from kapmonitor.store.repository import SessionRepository

DEV = "nonin-df7@/dev/ttyUSB0"
TESTS = Path(__file__).parent

# A kapmonitor that records three readings and then dies without any clean-up (os._exit skips everything).
CRASHING_STATION = """
import json, os, sys
sys.path.insert(0, sys.argv[2])
from store_fakes import ScriptedMonitor
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading
from kapmonitor.bed.station import Station

station = Station(sys.argv[1])
monitor = ScriptedMonitor("nonin-df7@/dev/ttyUSB0")
station.add_transport(monitor)
station.start()
session = station.start_session("P-CRASH", "IV ketamine")
t = now_us()
monitor.send([Reading("spo2", float(v), "%", t_us=t + k, device=monitor.device) for k, v in enumerate((97, 96, 95))])
station.hub.stop()
assert station.recorder.flush(timeout=30)
print(json.dumps({"session": session, "pid": os.getpid(), "last_us": t + 2}), flush=True)
os._exit(3)
"""


@pytest.fixture
def crashed(db_url: str, engine: Engine) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_STATION, db_url, str(TESTS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    return json.loads(done.stdout)


def test_a_session_whose_process_died_is_found_with_its_owner_and_last_data(
    engine: Engine, crashed: dict[str, Any]
) -> None:
    (found,) = interrupted_sessions(engine)
    assert found.session_id == crashed["session"] and found.patient == "P-CRASH"
    assert found.owner is not None
    assert (found.owner.pid, found.owner.hostname) == (crashed["pid"], socket.gethostname())
    assert found.last_data_us is not None and found.last_data_us >= crashed["last_us"]
    assert rows(engine, "SELECT status FROM session") == [("in_progress",)]


def test_resuming_continues_the_session_with_the_gap_recorded_and_audited(
    db_url: str, crashed: dict[str, Any]
) -> None:
    session = crashed["session"]
    station = Station(db_url)
    delivered = threading.Event()
    station.subscribe(lambda batch: any(isinstance(i, Reading) for i in batch) and delivered.set())
    monitor = ScriptedMonitor(DEV)
    station.add_transport(monitor)
    station.start()
    try:
        station.resume_session(session, user="nina")
        assert station.session_id == session
        assert station.recovery.interrupted() == []  # this process owns it now
        monitor.send([Reading("spo2", 94.0, "%", t_us=now_us(), device=DEV)])
        assert delivered.wait(timeout=30)
        station.stop_session()
    finally:
        station.stop()
    engine = open_database(db_url)
    try:
        detail = SessionRepository(engine).session_detail(session)
        values = [r.value for r in sorted(stored_readings(engine), key=lambda r: r.t_us)]
        gap = rows(
            engine,
            "SELECT e.kind, e.t_us, e.detail FROM link_event e JOIN device d ON d.id = e.device_id "
            f"WHERE d.device = '{STATION_DEVICE}' ORDER BY e.t_us",
        )
        audit = AuditTrail(engine).entries()
        owners = rows(engine, "SELECT count(*) FROM session_owner")
        proof = verify_record(engine)
    finally:
        engine.dispose()
    assert detail["status"] == "ended" and detail["end"] is not None
    assert values == [97.0, 96.0, 95.0, 94.0]  # before the crash and after, one session
    assert [k for k, _, _ in gap] == [SESSION_INTERRUPTED, SESSION_RESUMED]
    assert gap[0][1] >= crashed["last_us"]
    assert f"process {crashed['pid']}" in gap[0][2] and "nothing recorded from" in gap[0][2]
    assert {d["device"] for d in detail["devices"]} == {DEV, STATION_DEVICE}
    sessions = [e for e in audit if e.action.startswith("session.")]
    assert [(e.user, e.action, e.subject) for e in sessions] == [
        ("", "session.start", f"session {session}"),  # the crashed process: nobody logged in there
        ("nina", "session.resume", f"session {session}"),
        ("", "session.stop", f"session {session}"),
    ]
    assert sessions[1].data()["owner"]["pid"] == crashed["pid"]
    assert owners == [(0,)]
    assert proof.intact, proof.lines()  # the station's device row added at the resumption is vouched for too


def test_closing_an_interrupted_session_ends_it_at_its_last_data(
    engine: Engine, crashed: dict[str, Any]
) -> None:
    recovery = SessionRecovery(engine, user="nina")
    (found,) = recovery.interrupted()
    recovery.close_interrupted(crashed["session"])
    assert recovery.interrupted() == []
    assert rows(engine, "SELECT status, end_us FROM session") == [("ended", found.last_data_us)]
    ((kind, detail),) = rows(engine, "SELECT kind, detail FROM link_event WHERE kind LIKE 'session%'")
    assert kind == SESSION_INTERRUPTED and "nothing recorded after" in detail
    assert [(e.user, e.action) for e in AuditTrail(engine).entries() if e.action.startswith("session.")] == [
        ("", "session.start"),
        ("nina", "session.close_interrupted"),
    ]
    with pytest.raises(UserError, match="is ended, not interrupted"):
        recovery.resume(crashed["session"])
    proof = verify_record(engine)  # the session ended by recovery, as the audit trail vouches
    assert proof.intact, proof.lines()
    closed = [e for e in AuditTrail(engine).entries() if e.action == "session.close_interrupted"][0].data()
    assert (closed["row"]["status"], closed["row"]["end_us"]) == ("ended", found.last_data_us)


def test_a_session_recorded_by_a_live_process_is_not_interrupted(db_url: str) -> None:
    station = Station(db_url)
    station.start()
    try:
        session = station.start_session("P-LIVE")
        assert station.recovery.interrupted() == []
        with pytest.raises(UserError, match=f"still being recorded by process {os.getpid()}"):
            station.recovery.close_interrupted(session)
    finally:
        station.stop()
    engine = open_database(db_url)
    try:
        assert rows(engine, "SELECT status FROM session") == [("ended",)]
        assert rows(engine, "SELECT count(*) FROM session_owner") == [(0,)]  # let go when it ended
    finally:
        engine.dispose()


def claim_as(engine: Engine, session: int, host: str, pid: int, start: str, heartbeat_us: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO session_owner (session_id, hostname, pid, process_start, claimed_us, heartbeat_us) "
                "VALUES (:s, :h, :p, :ps, :hb, :hb)"
            ),
            {"s": session, "h": host, "p": pid, "ps": start, "hb": heartbeat_us},
        )


def test_another_computers_session_is_live_until_its_heartbeat_goes_stale(engine: Engine) -> None:
    repository = SessionRepository(engine)
    fresh, stale = repository.start_session("P-1"), repository.start_session("P-2")
    claim_as(engine, fresh, "bay-2-workstation", 4242, "", now_us())
    claim_as(engine, stale, "bay-2-workstation", 4242, "", now_us() - round(2 * STALE_AFTER_S * US_PER_S))
    assert [s.session_id for s in interrupted_sessions(engine)] == [stale]


def test_an_unclaimed_session_in_progress_counts_as_interrupted(engine: Engine) -> None:
    session = SessionRepository(engine).start_session("P-1")
    (found,) = interrupted_sessions(engine)
    assert found.session_id == session and found.owner is None
    SessionRecovery(engine).close_interrupted(session)
    assert rows(engine, "SELECT status FROM session") == [("ended",)]


@pytest.mark.skipif(not this_process().process_start, reason="needs /proc to tell a reused process id")
def test_a_reused_process_id_on_this_computer_is_not_taken_for_the_owner(engine: Engine) -> None:
    session = SessionRepository(engine).start_session("P-1")
    me = this_process()
    claim_as(engine, session, me.hostname, me.pid, str(int(me.process_start) - 1), now_us())
    assert [s.session_id for s in interrupted_sessions(engine)] == [session]
