"""`audit verify` vouches for who a record is about and who may touch it: the patient, the session's header
(protocol, room, bed, nurse, prescriber, status, start and end), the devices recorded in it, the clinical record's
header and the user accounts. Each case is what someone holding the database can do with the guard triggers
dropped, on a real SQLite file and on the test run's PostgreSQL server; verify names the table, the row and
what changed. The application's own changes (ending, recovering, signing, role and password changes,
deactivation) each leave an audit entry, so verify stays green on them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from kapmonitor.cli import main
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.errors import UserError
from kapmonitor.session.entries import BodyWeight, BolusDose
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.append_only import drop_guards
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import alembic_config, engine_for, open_database
from kapmonitor.store.header_proof import AlreadyVouched, awaiting_vouch, vouch_existing
from kapmonitor.store.record_proof import unvouched, verify_record
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.recovery import SessionRecovery
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.signing import sign_session
from kapmonitor.store.tables import Base
from kapmonitor.store.users import UserDirectory

DEV = "nonin-df7@/dev/ttyUSB0"


def record_a_session(engine: Engine) -> int:
    """Ada (administrator) adds Nina (nurse) and Dr Lee (clinician); Nina records P-104's IV infusion session in
    chair 2 with a monitor, a weight of 70 kg and a 35 mg bolus, ends it, and Dr Lee signs."""
    users = UserDirectory(engine)
    ada = users.create_first_admin("ada", "admin password")
    users.add_user(ada, "nina", "nurse", "nurse password")
    users.add_user(ada, "dr.lee", "clinician", "lee password")
    repository = SessionRepository(engine)
    session = repository.start_session(
        "P-104", "iv-infusion", room="Room 3", nurse="nina", prescriber="Dr Lee", bed="chair 2"
    )
    recorder = Recorder(engine)
    try:
        recorder.register_device(DEV, "nonin-df7", "/dev/ttyUSB0")
        recorder.begin(session)
        assert recorder.flush(timeout=30)
        recorder.end()
    finally:
        recorder.stop()
    log = ClinicalLog(engine, session, builtin_templates()["iv-infusion"])
    t = now_us()
    log.add(BodyWeight(t_us=t, entered_us=t, author="nina", kg=70.0))
    log.add(BolusDose(t_us=t + 1, entered_us=t + 1, author="nina", mg=35.0, route="iv"))
    repository.end_session(session, user="nina")
    sign_session(engine, session, username="dr.lee", password="lee password", entered_us=t + 2, users=users)
    return session


@pytest.fixture
def recorded(engine: Engine) -> int:
    return record_a_session(engine)


def tamper(engine: Engine, *statements: str) -> None:
    """What the database's owner can do: drop every guard trigger, then change rows with plain SQL."""
    with engine.begin() as conn:
        for table in Base.metadata.tables:
            drop_guards(conn.exec_driver_sql, engine.dialect.name, table)
        for statement in statements:
            conn.execute(text(statement))


def problems(engine: Engine) -> list[str]:
    report = verify_record(engine)
    assert not report.intact
    return report.lines()


def vouched_by(engine: Engine, action: str) -> int:
    """The seq of the newest audit entry with this action."""
    return max(e.seq for e in AuditTrail(engine).entries() if e.action == action)


def test_a_recorded_and_signed_session_verifies_with_its_headers_counted(engine: Engine, recorded: int) -> None:
    report = verify_record(engine)
    assert report.intact, report.lines()
    # 3 accounts, the patient, the session, its device and its record's header; 3 clinical entries
    assert report.rows == 10
    actions = [e.action for e in AuditTrail(engine).entries()]
    for action in ("patient.add", "session.start", "device.add", "clinical_record.open", "session.stop",
                   "session.signed"):
        assert action in actions


def test_the_session_header_edited_is_named_field_by_field(engine: Engine, recorded: int) -> None:
    hour = 3600 * US_PER_S
    tamper(
        engine,
        "UPDATE session SET protocol = 'im-ketamine', prescriber = 'Dr Eve', bed = 'chair 9', "
        f"start_us = start_us - {hour}, end_us = end_us + {hour} WHERE id = {recorded}",
    )
    with engine.connect() as conn:
        start, end = conn.execute(text(f"SELECT start_us, end_us FROM session WHERE id = {recorded}")).one()
    assert problems(engine) == [
        f'session {recorded} (patient P-104): edited: bed "chair 2" -> "chair 9"; end_us {end - hour} -> {end}; '
        f'prescriber "Dr Lee" -> "Dr Eve"; protocol "iv-infusion" -> "im-ketamine"; start_us {start + hour} -> '
        f"{start} (audit_entry {vouched_by(engine, 'session.signed')} vouched for it as it was)"
    ]


def test_the_weight_behind_every_mg_per_kg_edited_from_70_to_100_kg_is_named(engine: Engine, recorded: int) -> None:
    """The weight the doses are worked out per kg from is the record's weight entry; the patient row's own
    weight column is vouched for too."""
    tamper(
        engine,
        f"UPDATE clinical_entry SET fields = '{{\"kg\": 100.0}}' WHERE session_id = {recorded} AND kind = 'weight'",
        "UPDATE patient SET weight_kg = 100 WHERE code = 'P-104'",
    )
    lines = problems(engine)
    assert lines[0] == (
        f"patient 1 (P-104): edited: weight_kg None -> 100 (audit_entry {vouched_by(engine, 'patient.add')} "
        "vouched for it as it was)"
    )
    assert lines[1].startswith(f"clinical_entry session {recorded} entry 1 (weight by nina): edited: kg 70 -> 100")
    assert len(lines) == 2


def test_a_patients_pseudonymous_id_changed_or_a_session_moved_to_another_patient_is_named(
    engine: Engine, recorded: int
) -> None:
    tamper(
        engine,
        "UPDATE patient SET code = 'P-999' WHERE code = 'P-104'",
        "INSERT INTO patient (code) VALUES ('P-200')",
        f"UPDATE session SET patient_id = (SELECT id FROM patient WHERE code = 'P-200') WHERE id = {recorded}",
    )
    patient_seq = vouched_by(engine, "patient.add")
    assert problems(engine) == [
        f'patient 1 (P-104): edited: code "P-104" -> "P-999" (audit_entry {patient_seq} vouched for it as it was)',
        "patient 2 (P-200): inserted: no audit entry vouches for this row",
        f"session {recorded} (patient P-104): edited: patient_id 1 -> 2 "
        f"(audit_entry {vouched_by(engine, 'session.signed')} vouched for it as it was)",
    ]


def test_devices_edited_inserted_and_deleted_are_named(engine: Engine, recorded: int) -> None:
    seq = vouched_by(engine, "device.add")
    tamper(
        engine,
        "UPDATE device SET device = 'masimo-ascii@/dev/ttyUSB9', protocol = 'masimo-ascii', address = '/dev/ttyUSB9'",
        f"INSERT INTO device (session_id, device, protocol, address) VALUES ({recorded}, 'contec-v7@x', "
        "'contec-v7', 'x')",
    )
    assert problems(engine) == [
        f'device 1 ({DEV} in session {recorded}): edited: address "/dev/ttyUSB0" -> "/dev/ttyUSB9"; device '
        f'"{DEV}" -> "masimo-ascii@/dev/ttyUSB9"; protocol "nonin-df7" -> "masimo-ascii" (audit_entry {seq} '
        "vouched for it as it was)",
        f"device 2 (contec-v7@x in session {recorded}): inserted: no audit entry vouches for this row",
    ]
    tamper(engine, "DELETE FROM device WHERE id = 2", "DELETE FROM device WHERE id = 1")
    assert problems(engine) == [
        f"device 1 ({DEV} in session {recorded}): deleted: the row is gone (audit_entry {seq} vouched for it)"
    ]


def test_the_clinical_records_maximum_mg_per_kg_edited_is_named(engine: Engine, recorded: int) -> None:
    tamper(engine, f"UPDATE clinical_record SET max_mg_per_kg = 5 WHERE session_id = {recorded}")
    (line,) = problems(engine)
    assert line.startswith(f"clinical_record of session {recorded}: edited: max_mg_per_kg ")
    assert line.endswith(f"-> 5 (audit_entry {vouched_by(engine, 'clinical_record.open')} vouched for it as it was)")


def test_user_accounts_edited_inserted_or_deleted_are_named_without_a_password_hash(
    engine: Engine, recorded: int
) -> None:
    """A nurse made clinician (which grants session.sign), a password hash swapped for one whose password the
    intruder knows, an account slipped in, one deleted: each named; no hash ever appears."""
    tamper(
        engine,
        "UPDATE user_account SET roles = 'clinician,nurse', "
        "password_hash = (SELECT password_hash FROM user_account WHERE username = 'ada') WHERE username = 'nina'",
        "INSERT INTO user_account (username, roles, password_hash, failed_logins, created_us, created_by, active) "
        "VALUES ('mallory', 'administrator', 'x', 0, 1, 'ada', TRUE)",
        "DELETE FROM user_account WHERE username = 'dr.lee'",
    )
    entries = {e.action: e.seq for e in AuditTrail(engine).entries()}
    lines = problems(engine)
    assert lines == [
        f'user_account 2 (nina): edited: password hash replaced; roles "nurse" -> "clinician,nurse" '
        f"(audit_entry {entries['user.add'] - 1} vouched for it as it was)",
        "user_account 4 (mallory): inserted: no audit entry vouches for this row",
        f"user_account 3 (dr.lee): deleted: the row is gone (audit_entry {entries['user.add']} vouched for it)",
    ]
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT password_hash FROM user_account")).scalars().all()
    trail = " ".join(e.payload for e in AuditTrail(engine).entries())
    assert "$argon2id$" not in trail and not any(h in trail for h in hashes if h.startswith("$argon2id$"))


def test_the_lock_counter_is_not_vouched_but_a_deactivated_account_turned_back_on_is(
    engine: Engine, recorded: int
) -> None:
    UserDirectory(engine).deactivate(UserDirectory(engine).authenticate("ada", "admin password"), "nina")
    tamper(engine, "UPDATE user_account SET failed_logins = 3")
    assert verify_record(engine).intact
    tamper(engine, "UPDATE user_account SET active = TRUE WHERE username = 'nina'")
    assert problems(engine) == [
        f"user_account 2 (nina): edited: active False -> True (audit_entry {vouched_by(engine, 'user.deactivate')} "
        "vouched for it as it was)"
    ]


def test_every_change_the_application_makes_leaves_verify_green(engine: Engine, recorded: int) -> None:
    users = UserDirectory(engine)
    ada = users.authenticate("ada", "admin password")
    nina = users.set_roles(ada, "nina", ["nurse", "clinician"])
    assert nina.may("session.sign")
    users.set_password(ada, "dr.lee", "new lee password")
    users.set_password(users.authenticate("nina", "nurse password"), "nina", "nina's own password")
    with pytest.raises(UserError, match="wrong user name or password"):
        users.authenticate("nina", "nurse password")  # counted in failed_logins, not vouched, still green
    users.unlock(ada, "nina")
    users.deactivate(ada, "dr.lee")
    with pytest.raises(UserError, match="deactivated"):
        users.authenticate("dr.lee", "new lee password")
    users.reactivate(ada, "dr.lee")
    users.demo_user()
    # An account hashed with older, weaker settings is rehashed at login, and that is vouched for too.
    UserDirectory(engine, hasher=PasswordHasher(time_cost=1, memory_cost=8192)).add_user(
        ada, "tim", "technician", "tech password"
    )
    users.authenticate("tim", "tech password")
    assert "user.rehash" in [e.action for e in AuditTrail(engine).entries()]

    repository = SessionRepository(engine)
    again = repository.start_session("P-104", "im-ketamine", nurse="nina", bed="chair 2")  # a known patient
    repository.backdate_start(again, now_us() - 600 * US_PER_S, user="nina")
    SessionRecovery(engine, user="nina").close_interrupted(again)  # nobody records it: recovered at its start
    replayed = repository.start_session("SIM-REPLAY", "replay")
    repository.end_session(replayed)
    repository.set_span(replayed, 1_700_000_000 * US_PER_S, 1_700_000_600 * US_PER_S)
    report = verify_record(engine)
    assert report.intact, report.lines()


def test_the_gap_crash_recovery_recorded_cannot_be_edited_or_removed_unseen(engine: Engine, recorded: int) -> None:
    """Closing an interrupted session records where its recording stopped; that record is what tells a reviewer
    the session was not watched after it, and it is vouched for like the session it belongs to."""
    crashed = SessionRepository(engine).start_session("P-105", "iv-infusion", nurse="nina")  # its station died
    SessionRecovery(engine, user="nina").close_interrupted(crashed)
    assert verify_record(engine).intact
    seq = vouched_by(engine, "recovery.gap")
    with engine.connect() as conn:
        gap = conn.execute(text("SELECT id, detail FROM link_event WHERE kind = 'session_interrupted'")).one()
    tamper(engine, f"UPDATE link_event SET detail = 'recording ended normally' WHERE id = {gap.id}")
    assert problems(engine) == [
        f'link_event {gap.id} (session_interrupted in session {crashed}): edited: detail "{gap.detail}" -> '
        f'"recording ended normally" (audit_entry {seq} vouched for it as it was)'
    ]
    tamper(engine, f"UPDATE link_event SET kind = 'connected', detail = '{gap.detail}' WHERE id = {gap.id}")
    assert problems(engine) == [
        f'link_event {gap.id} (session_interrupted in session {crashed}): edited: kind "session_interrupted" -> '
        f'"connected" (audit_entry {seq} vouched for it as it was)'
    ]
    tamper(engine, f"DELETE FROM link_event WHERE id = {gap.id}")
    assert problems(engine) == [
        f"link_event {gap.id} (session_interrupted in session {crashed}): deleted: the row is gone "
        f"(audit_entry {seq} vouched for it)"
    ]


def test_a_deactivated_clinician_can_neither_log_in_nor_sign(engine: Engine, recorded: int) -> None:
    users = UserDirectory(engine)
    repository = SessionRepository(engine)
    second = repository.start_session("P-104", "iv-infusion", nurse="nina")
    repository.end_session(second, user="nina")
    users.deactivate(users.authenticate("ada", "admin password"), "dr.lee")
    with pytest.raises(UserError, match="deactivated; an administrator can reactivate it"):
        sign_session(engine, second, username="dr.lee", password="lee password", entered_us=now_us(), users=users)
    assert ClinicalLog.load(engine, second).signed is None
    assert ("dr.lee", "login.refused") in [(e.user, e.action) for e in AuditTrail(engine).entries()]
    assert verify_record(engine).intact


def test_the_last_active_administrator_keeps_the_role_and_nobody_deactivates_themself(
    engine: Engine, recorded: int
) -> None:
    users = UserDirectory(engine)
    ada = users.authenticate("ada", "admin password")
    before = AuditTrail(engine).count()
    with pytest.raises(UserError, match="last active administrator"):
        users.set_roles(ada, "ada", "clinician")
    with pytest.raises(UserError, match="your own account"):
        users.deactivate(ada, "ada")
    with pytest.raises(UserError, match="may not do this"):
        users.set_roles(users.authenticate("nina", "nurse password"), "nina", "clinician")
    with pytest.raises(UserError, match="no user bob"):
        users.deactivate(ada, "bob")
    assert AuditTrail(engine).count() == before + 1  # nina's login; nothing refused was written
    assert verify_record(engine).intact


def test_an_export_of_a_record_whose_header_was_edited_warns(engine: Engine, recorded: int) -> None:
    assert unvouched(engine, recorded) is None
    tamper(engine, f"UPDATE session SET prescriber = 'Dr Eve' WHERE id = {recorded}")
    warning = unvouched(engine, recorded)
    assert warning is not None and 'prescriber "Dr Lee" -> "Dr Eve"' in warning
    tamper(engine, f"UPDATE session SET prescriber = 'Dr Lee' WHERE id = {recorded}")
    tamper(engine, "UPDATE patient SET code = 'P-999'")
    warning = unvouched(engine, recorded)
    assert warning is not None and 'code "P-104" -> "P-999"' in warning


# An installation upgraded from the version before: its rows have no audit entries yet.


@pytest.fixture
def upgraded(db_url: str) -> Iterator[Engine]:
    """A database written by the previous version (schema 0007, rows inserted as it did, its own audit lines),
    then opened by this one."""
    old = engine_for(db_url)
    command.upgrade(alembic_config(old), "0007")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO patient (code) VALUES ('P-001')"))
        conn.execute(
            text(
                "INSERT INTO session (patient_id, protocol, room, bed, nurse, prescriber, status, start_us, end_us) "
                "VALUES (1, 'im-ketamine', 'Room 1', 'chair 1', 'nina', 'Dr Lee', 'ended', 1, 2)"
            )
        )
        for name, roles in (("ada", "administrator"), ("nina", "nurse")):
            conn.execute(
                text(
                    "INSERT INTO user_account (username, roles, password_hash, failed_logins, created_us, created_by) "
                    f"VALUES ('{name}', '{roles}', '{PasswordHasher().hash(name + ' password')}', 0, 1, '')"
                )
            )
    AuditTrail(old).append("nina", "session.start", "session 1", {"patient": "P-001"})  # as it audited then
    old.dispose()
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def test_rows_from_before_the_upgrade_are_vouched_for_once_then_verify_is_green(upgraded: Engine) -> None:
    lines = problems(upgraded)
    assert [line.split(": ")[0] for line in lines] == [
        "patient 1 (P-001)", "session 1 (patient P-001)", "user_account 1 (ada)", "user_account 2 (nina)"
    ]
    assert all("not vouched yet: written before kapmonitor vouched for" in line for line in lines)
    assert "`kapmonitor audit vouch`" in lines[0]
    assert awaiting_vouch(upgraded) == 4
    # Work after the upgrade, before the step: a new session and a role change of an old account are vouched
    # for as they are written; the other old rows stay named, and still wait for the step.
    SessionRepository(upgraded).start_session("P-002", nurse="nina")
    users = UserDirectory(upgraded)
    users.set_roles(users.authenticate("ada", "ada password"), "ada", ["administrator", "clinician"])
    assert len(problems(upgraded)) == 3
    done = vouch_existing(upgraded, "it-admin")
    assert done.rows == {"patient": 1, "session": 1, "user_account": 1}
    assert verify_record(upgraded).intact
    assert awaiting_vouch(upgraded) == 0
    with pytest.raises(AlreadyVouched, match="vouched for once already"):
        vouch_existing(upgraded, "it-admin")
    # After the step a row without an entry is an inserted one, whatever its id.
    tamper(upgraded, "INSERT INTO patient (code) VALUES ('P-003')")
    assert problems(upgraded) == ["patient 3 (P-003): inserted: no audit entry vouches for this row"]
    # and a vouched old row edited is named like any other
    tamper(upgraded, "DELETE FROM patient WHERE code = 'P-003'", "UPDATE session SET prescriber = 'x' WHERE id = 1")
    (line,) = problems(upgraded)
    assert line.startswith('session 1 (patient P-001): edited: prescriber "Dr Lee" -> "x"')


def test_the_vouch_command_says_what_it_vouched_for_and_refuses_a_second_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clinic.sqlite"
    engine = open_database(f"sqlite:///{path}")
    record_a_session(engine)
    engine.dispose()
    conn = sqlite3.connect(path)  # an account from before the upgrade, as the old version wrote it
    conn.execute(
        "INSERT INTO user_account (id, username, roles, password_hash, failed_logins, created_us, created_by, "
        "active) VALUES (0, 'old.admin', 'administrator', 'x', 0, 1, '', 1)"
    )
    conn.commit()
    conn.close()
    url = f"sqlite:///{path}"
    assert main(["audit", "verify", "--db", url]) == 1
    assert "user_account 0 (old.admin): not vouched yet" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "rows from before this version that the audit trail does not vouch for yet: 1 (patients, sessions, "
        "devices, record headers, user accounts); run `kapmonitor audit vouch` once, on a workstation that holds "
        "the audit key (docs/audit.md)"
    )
    assert main(["audit", "vouch", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("vouched for the rows written before this version: 1 user_account (audit_entry ")
    assert main(["audit", "verify", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("audit trail intact: ")
    assert main(["db", "upgrade", "--db", url]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # nothing waits any more
    assert main(["audit", "vouch", "--db", url]) != 0
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor: the rows from before the upgrade were vouched for once already")
    assert len(err.splitlines()) == 1
    assert main(["audit", "vouch", "--db", f"sqlite:///{tmp_path / 'typo.sqlite'}"]) != 0
    assert not (tmp_path / "typo.sqlite").exists()


def test_a_vouch_the_database_refuses_halfway_says_so_in_one_line_and_vouches_for_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clinic.sqlite"
    open_database(f"sqlite:///{path}").dispose()
    conn = sqlite3.connect(path)  # two rows from before the upgrade, and a database that takes one entry only
    conn.execute("INSERT INTO patient (code) VALUES ('P-001'), ('P-002')")
    conn.execute(
        "CREATE TRIGGER full BEFORE INSERT ON audit_entry WHEN NEW.seq > 1 BEGIN SELECT RAISE(ABORT, "
        "'database or disk is full'); END"
    )
    conn.commit()
    conn.close()
    url = f"sqlite:///{path}"
    assert main(["audit", "vouch", "--db", url]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "kapmonitor: nothing was vouched for: the database refused the audit entries (database or disk is full)\n"
    )
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM audit_entry").fetchone() == (0,)
    conn.close()
