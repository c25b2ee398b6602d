"""The audit trail as the application writes it: a scripted session leaves one line per clinical entry,
amendment, sign-off, limit change, device change and session start/stop, and `kapmonitor audit verify` names
the row someone edited behind the application's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from store_fakes import ScriptedMonitor

from kapmonitor.bed.station import Station
from kapmonitor.cli import main
from kapmonitor.core.clock import now_us
from kapmonitor.core.errors import UserError
from kapmonitor.session.entries import Addendum, BodyWeight, BolusDose, Note
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import open_database
from kapmonitor.store.record_proof import verify_record
from kapmonitor.store.signing import sign_session
from kapmonitor.store.users import UserDirectory

DEV = "nonin-df7@/dev/ttyUSB0"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audited.sqlite"


@pytest.fixture
def scripted(db_path: Path) -> Iterator[tuple[int, Engine]]:
    """Nina (nurse) records a session with entries and an amendment, the technician lowers the SpO2 limit,
    a monitor is added and removed, and Dr Lee signs."""
    station = Station(f"sqlite:///{db_path}")
    station.user = "tim"
    monitor = ScriptedMonitor(DEV)
    station.add_transport(monitor)
    station.start()
    try:
        station.user = "nina"
        session = station.start_session("KAP-0042", "im-ketamine")
        log = ClinicalLog(station.database, session, builtin_templates()["im-ketamine"])
        t = now_us()
        log.add(BodyWeight(t_us=t, entered_us=t, author="nina", kg=70.0))
        log.add(BolusDose(t_us=t + 1, entered_us=t + 1, author="nina", mg=35.0, route="im"))
        log.add(Note(t_us=t + 2, entered_us=t + 2, author="nina", text="calm, eyes closed"))
        log.amend(2, {"site": "left deltoid"}, author="nina", reason="site left out", entered_us=t + 3)
        station.change_alarm_limit("spo2", user="tim", reason="baseline 91%", low=88.0)
        station.remove_transport(monitor)
        station.stop_session()
        users = UserDirectory(station.database, audit=station.audit)
        admin = users.create_first_admin("admin", "admin-password")
        users.add_user(admin, "dr.lee", "clinician", "lee-password")
        sign_session(
            station.database, session, username="dr.lee", password="lee-password", entered_us=t + 4, users=users
        )
    finally:
        station.stop()
    engine = open_database(f"sqlite:///{db_path}")
    yield session, engine
    engine.dispose()


def actions(engine: Engine) -> list[tuple[str, str, str]]:
    return [(e.user, e.action, e.subject) for e in AuditTrail(engine).entries()]


def test_every_action_of_a_session_is_in_the_trail_and_the_trail_is_intact(
    scripted: tuple[int, Engine],
) -> None:
    session, engine = scripted
    assert AuditTrail(engine).verify().intact
    # The recorder adds the device's row to the session when it first writes, on its own thread: its audit
    # line falls wherever that is, so it is checked apart from the order of the others.
    added = [a for a in actions(engine) if a[1] == "device.add"]
    assert added == [("", "device.add", f"session {session} device {DEV}")]
    assert [a for a in actions(engine) if a[1] != "device.add"] == [
        ("tim", "device.change", DEV),
        ("nina", "patient.add", "patient KAP-0042"),
        ("nina", "session.start", f"session {session}"),
        ("nina", "clinical_record.open", f"session {session} record"),
        ("nina", "clinical.add", f"session {session} entry 1"),
        ("nina", "clinical.add", f"session {session} entry 2"),
        ("nina", "clinical.add", f"session {session} entry 3"),
        ("nina", "clinical.amend", f"session {session} entry 4"),
        ("tim", "alarm.limit_change", "spo2"),
        ("nina", "device.change", DEV),
        ("nina", "session.stop", f"session {session}"),
        ("admin", "user.first_admin", "admin"),
        ("admin", "user.add", "dr.lee"),
        ("dr.lee", "session.signed", f"session {session}"),
        ("dr.lee", "session.sign", f"session {session} entry 5"),
    ]
    entries = [e for e in AuditTrail(engine).entries() if e.action != "device.add"]
    assert entries[5].data()["kind"] == "bolus" and entries[5].data()["seq"] == 2
    assert entries[7].data()["amends_seq"] == 2
    change = entries[8].data()
    assert (change["before"]["low"], change["after"]["low"], change["reason"]) == (90.0, 88.0, "baseline 91%")
    assert [entries[0].data()["change"], entries[9].data()["change"]] == ["added", "removed"]
    started = entries[2].data()
    assert (started["table"], started["row"]["patient_id"], started["row"]["status"]) == ("session", 1, "in_progress")
    assert verify_record(engine).intact  # every header row the station wrote is vouched for


def test_an_entry_and_its_audit_line_are_one_transaction(scripted: tuple[int, Engine]) -> None:
    session, engine = scripted
    log = ClinicalLog.load(engine, session)
    t = now_us()
    log.add(Addendum(t_us=t, entered_us=t, author="dr.lee", text="called next day: well", refers_to=3))
    assert actions(engine)[-1] == ("dr.lee", "clinical.addendum", f"session {session} entry 6")
    before = AuditTrail(engine).count()
    log.session_id = 999  # a session that is not in the database: refused, nothing stored
    with pytest.raises(UserError):
        log.add(Addendum(t_us=t, entered_us=t, author="dr.lee", text="lost"))
    assert AuditTrail(engine).count() == before  # no audit line for an entry that was not stored
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clinical_entry WHERE session_id = 999")).scalar() == 0
    assert AuditTrail(engine).verify().intact


def test_audit_verify_names_a_clinical_entry_line_edited_with_raw_sql(
    scripted: tuple[int, Engine], db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, engine = scripted
    assert main(["audit", "verify", "--db", f"sqlite:///{db_path}"]) == 0
    assert "audit trail intact: 16 entries, 11 rows of the record" in capsys.readouterr().out
    engine.dispose()
    # What someone with the file can do: drop the guards, then make the bolus look like another author's.
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_entry_no_update")
    conn.execute("DROP TRIGGER audit_entry_no_delete")
    conn.execute(f"UPDATE audit_entry SET user = 'eve' WHERE subject = 'session {session} entry 2'")
    conn.commit()
    conn.close()
    assert main(["audit", "verify", "--db", f"sqlite:///{db_path}"]) == 1
    out = capsys.readouterr().out
    assert "audit trail BROKEN: 1 problem in 16 entries, 11 rows of the record" in out
    assert "(clinical.add): edited or forged: its contents no longer match its keyed hash" in out


def test_a_deleted_limit_change_line_is_named_by_the_gap_it_leaves(
    scripted: tuple[int, Engine], db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, engine = scripted
    engine.dispose()
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_entry_no_delete")
    conn.execute("DELETE FROM audit_entry WHERE action = 'alarm.limit_change'")
    conn.commit()
    conn.close()
    assert main(["audit", "verify", "--db", f"sqlite:///{db_path}"]) == 1
    out = capsys.readouterr().out
    seqs = {e.action: e.seq for e in AuditTrail(engine).entries() if e.action in ("alarm.limit_change",)}
    assert seqs == {}  # the line is gone from the trail ...
    assert "missing before it (deleted)" in out  # ... and verify names the gap where it was
