"""`kapmonitor audit verify` proves the whole record: every clinical entry (the sign-off included) and every
alarm log row against the audit entry that vouches for it. Each case below is what someone with the database
file and sqlite3 can do once the guard triggers are dropped; verify fails with one line naming the table, the
row and what changed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.cli import main
from kapmonitor.core.clock import now_us
from kapmonitor.session.entries import BodyWeight, BolusDose, Note
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.alarm_log import write_alarm_events
from kapmonitor.store.audit import AuditTrail, canonical_json, head_text
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import open_database
from kapmonitor.store.hl7_outbox import Hl7Outbox, QueuedMessage
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.signing import sign_session
from kapmonitor.store.users import UserDirectory


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "clinic.sqlite"


@pytest.fixture
def recorded(db_path: Path) -> Iterator[int]:
    """A signed IM ketamine session: weight, a 28 mg dose, a note, a second dose, two alarm changes. Audit entries:
    1 the patient, 2 the session, 3 its record's header, 4-7 the clinical entries, 8-9 the alarm events, 10 the
    session's end, 11-12 the administrator and the clinician's accounts, 13 the session turning signed, 14 the
    sign-off."""
    engine = open_database(f"sqlite:///{db_path}")
    try:
        repository = SessionRepository(engine)
        session = repository.start_session("KAP-0007", protocol="im-ketamine")
        log = ClinicalLog(engine, session, builtin_templates()["im-ketamine"])
        t = now_us()
        log.add(BodyWeight(t_us=t, entered_us=t, author="RN Ito", kg=70.0))
        log.add(BolusDose(t_us=t + 1, entered_us=t + 1, author="RN Ito", mg=28.0, route="im", lot="K2291"))
        log.add(Note(t_us=t + 2, entered_us=t + 2, author="RN Ito", text="calm, eyes closed"))
        log.add(BolusDose(t_us=t + 3, entered_us=t + 3, author="RN Ito", mg=14.0, route="im", lot="K2291"))
        write_alarm_events(
            engine,
            session,
            [
                AlarmEvent(t + 4, "spo2_low", "high", "active", "physiological", "nonin-df7@/dev/ttyUSB0",
                           "spo2", 87.0, 88.0, "SpO2 87 < 88"),
                AlarmEvent(t + 5, "spo2_low", "high", "acknowledged", "physiological", "nonin-df7@/dev/ttyUSB0",
                           "spo2", 87.0, 88.0, "SpO2 87 < 88", "RN Ito"),
            ],
        )
        repository.end_session(session)
        users = UserDirectory(engine)
        users.add_user(users.create_first_admin("admin", "admin-password"), "Dr Lee", "clinician", "lee-password")
        sign_session(engine, session, username="Dr Lee", password="lee-password", entered_us=t + 6, users=users)
    finally:
        engine.dispose()
    return session


def tamper(db_path: Path, *sql: str) -> None:
    conn = sqlite3.connect(db_path)
    for trigger in [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]:
        conn.execute(f"DROP TRIGGER {trigger}")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def verify(db_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    status = main(["audit", "verify", "--db", f"sqlite:///{db_path}", *extra])
    out = capsys.readouterr().out.splitlines()
    return status, out


def problems(db_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    status, out = verify(db_path, capsys)
    assert status == 1 and out[0].startswith("audit trail BROKEN")
    return [line.strip() for line in out[1:]]


def test_an_untouched_record_verifies_with_every_row_counted(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = verify(db_path, capsys)
    assert status == 0
    assert out[0].startswith("audit trail intact: 14 entries, 12 rows of the record; head 14:")


def test_a_dose_edited_from_28_to_84_mg_is_named_with_the_change(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = json.dumps({"drug": "ketamine", "lot": "K2291", "mg": 84.0, "mg_per_kg": None, "route": "im",
                         "site": ""}, sort_keys=True)
    tamper(db_path, f"UPDATE clinical_entry SET fields = '{fields}' WHERE seq = 2")
    assert problems(db_path, capsys) == [
        f"clinical_entry session {recorded} entry 2 (bolus by RN Ito): edited: mg 28 -> 84 "
        "(audit_entry 5 recorded the original)"
    ]


def test_a_deleted_note_is_named(recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(db_path, "DELETE FROM clinical_entry WHERE seq = 3")
    assert problems(db_path, capsys) == [
        f"clinical_entry session {recorded} entry 3 (note by RN Ito): deleted: the row is gone "
        "(audit_entry 6 recorded it)"
    ]


def test_the_deleted_last_entry_is_named(recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(db_path, "DELETE FROM clinical_entry WHERE seq = (SELECT max(seq) FROM clinical_entry)")
    lines = problems(db_path, capsys)
    assert lines[0] == (
        f"clinical_entry session {recorded} entry 5 (sign_off by Dr Lee): deleted: the row is gone "
        "(audit_entry 14 recorded it)"
    )
    assert lines[1] == f"session {recorded}: edited: marked signed, but no audited sign-off entry exists for it"


def test_a_forged_entry_is_named_as_inserted(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = json.dumps({"drug": "ketamine", "lot": "FAKE", "mg": 50.0, "mg_per_kg": None, "route": "im",
                         "site": ""}, sort_keys=True)
    tamper(
        db_path,
        "INSERT INTO clinical_entry (session_id, seq, kind, t_us, entered_us, author, amends_seq, fields) "
        f"VALUES ({recorded}, 6, 'bolus', 1, 1, 'RN Forged', NULL, '{fields}')",
    )
    assert problems(db_path, capsys) == [
        f"clinical_entry session {recorded} entry 6 (bolus by RN Forged): inserted: no audit entry vouches for "
        "this row"
    ]


def test_a_row_and_its_audit_line_rewritten_with_a_recomputed_digest_break_the_keyed_chain(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stdlib script from the issue: rewrite the dose, recompute row_sha256 and the entry's hash."""
    conn = sqlite3.connect(db_path)
    row = dict(zip(("session_id", "seq", "kind", "t_us", "entered_us", "author", "amends_seq", "fields"),
                   conn.execute("SELECT session_id, seq, kind, t_us, entered_us, author, amends_seq, fields "
                                "FROM clinical_entry WHERE seq = 2").fetchone(), strict=True))
    seq, t_us, user, action, subject, payload, prev = conn.execute(
        "SELECT seq, t_us, user, action, subject, payload, prev_hash FROM audit_entry WHERE seq = 5"
    ).fetchone()
    conn.close()
    row["fields"] = row["fields"].replace('"mg": 28.0', '"mg": 84.0')
    data = json.loads(payload)
    data["row"], data["row_sha256"] = row, hashlib.sha256(canonical_json(row).encode()).hexdigest()
    payload = canonical_json(data)
    line = canonical_json(
        {"seq": seq, "t_us": t_us, "user": user, "action": action, "subject": subject, "payload": payload}
    )
    digest = hashlib.sha256((prev + line).encode()).hexdigest()
    tamper(
        db_path,
        f"UPDATE clinical_entry SET fields = '{row['fields']}' WHERE seq = 2",
        f"UPDATE audit_entry SET payload = '{payload}', hash = '{digest}' WHERE seq = 5",
        f"UPDATE audit_entry SET prev_hash = '{digest}' WHERE seq = 6",
    )
    lines = problems(db_path, capsys)
    assert lines[0].startswith("audit_entry 5 (clinical.add): not sealed with this installation's key")
    assert lines[1].startswith("audit_entry 6 (clinical.add): edited or forged")


def test_the_newest_audit_line_deleted_is_named(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(db_path, "DELETE FROM audit_entry WHERE seq = 14")
    assert problems(db_path, capsys) == [
        "audit_entry 14 (?): missing: this installation wrote it, but the trail now ends before it (entries were "
        "deleted, or the database was replaced by an older copy)",
        f"clinical_entry session {recorded} entry 5 (sign_off by Dr Lee): inserted: no audit entry vouches for "
        "this row",
        f"session {recorded}: edited: marked signed, but no audited sign-off entry exists for it",
    ]


def test_the_last_entry_deleted_with_its_audit_line_is_named(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(
        db_path,
        "DELETE FROM clinical_entry WHERE seq = 5",
        "DELETE FROM audit_entry WHERE seq IN (13, 14)",  # the sign-off and the session turning signed
        f"UPDATE session SET status = 'ended' WHERE id = {recorded}",
    )
    assert problems(db_path, capsys) == [
        "audit_entry 14 (?): missing: this installation wrote it, but the trail now ends before it (entries were "
        "deleted, or the database was replaced by an older copy)",
    ]


def test_an_edited_audit_line_is_named(recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(db_path, "UPDATE audit_entry SET user = 'Dr Eve' WHERE seq = 14")
    assert problems(db_path, capsys) == [
        "audit_entry 14 (session.sign): edited or forged: its contents no longer match its keyed hash"
    ]


def test_an_inserted_audit_line_is_named(recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = stored_head(db_path)
    tamper(
        db_path,
        "INSERT INTO audit_entry (seq, t_us, user, action, subject, payload, prev_hash, hash) "
        f"VALUES (15, 1, 'eve', 'user.create', 'eve', '{{}}', '{head[1]}', '{'0' * 64}')",
    )
    assert problems(db_path, capsys) == [
        "audit_entry 15 (user.create): edited or forged: its contents no longer match its keyed hash"
    ]


def stored_head(db_path: Path) -> tuple[int, str]:
    engine = open_database(f"sqlite:///{db_path}")
    try:
        return AuditTrail(engine).head()
    finally:
        engine.dispose()


def test_alarm_log_rows_edited_deleted_and_inserted_are_named(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(
        db_path,
        "UPDATE alarm_event SET value = 92.0, user_name = 'RN Eve' WHERE state = 'acknowledged'",
        "DELETE FROM alarm_event WHERE state = 'active'",
        "INSERT INTO alarm_event (session_id, t_us, alarm_id, alarm, priority, state, kind, device, metric, value, "
        f"limit_value, message, user_name) VALUES ({recorded}, 1, 'x', 'hr_high', 'medium', 'cleared', "
        "'physiological', '', 'heart_rate', NULL, NULL, '', '')",
    )
    assert problems(db_path, capsys) == [
        f"alarm_event session {recorded} event 2 (spo2_low acknowledged): edited: user_name \"RN Ito\" -> "
        "\"RN Eve\"; value 87 -> 92 (audit_entry 9 recorded the original)",
        f"alarm_event session {recorded} event 3 (hr_high cleared): inserted: no audit entry vouches for this row",
        f"alarm_event session {recorded} event 1 (spo2_low active): deleted: the row is gone (audit_entry 8 "
        "recorded it)",
    ]


def test_a_session_marked_signed_behind_the_applications_back_is_named(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_database(f"sqlite:///{db_path}")
    session = SessionRepository(engine).start_session("KAP-0008")
    engine.dispose()
    tamper(db_path, f"UPDATE session SET status = 'signed' WHERE id = {session}")
    assert problems(db_path, capsys) == [
        f'session {session} (patient KAP-0008): edited: status "in_progress" -> "signed" (audit_entry 2 vouched '
        "for it as it was)",
        f"session {session}: edited: marked signed, but no audited sign-off entry exists for it",
    ]


def test_a_printed_head_is_checked_with_anchor(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = stored_head(db_path)
    status, out = verify(db_path, capsys, "--anchor", head_text(head))
    assert status == 0 and out[0].endswith(f"anchor {head[0]} matches")
    status, out = verify(db_path, capsys, "--anchor", f"{head[0]}:{'ab' * 10}")
    assert status == 1
    assert out[1].strip() == "audit_entry 14 (session.sign): replaced: its hash differs from the anchor given"
    assert main(["audit", "verify", "--db", f"sqlite:///{db_path}", "--anchor", "nine"]) == 2
    assert "--anchor: 'nine' is not an audit head" in capsys.readouterr().err


def test_verify_without_the_key_says_it_cannot_check(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_FILE", str(tmp_path / "elsewhere" / "audit.key"))
    lines = problems(db_path, capsys)
    assert lines[0].startswith("audit_entry 1 (patient.add): cannot be checked: no audit key in the key file")
    assert not (tmp_path / "elsewhere" / "audit.key").exists()  # verify reads; it never makes a key


def test_an_export_of_an_edited_record_is_written_with_a_warning(
    recorded: int, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sessions", "export", str(recorded), "--format", "csv", "--out", str(tmp_path / "x.csv")]
    assert main([*args, "--db", f"sqlite:///{db_path}"]) == 0
    assert capsys.readouterr().err == ""
    fields = json.dumps({"drug": "ketamine", "lot": "K2291", "mg": 84.0, "mg_per_kg": None, "route": "im",
                         "site": ""}, sort_keys=True)
    tamper(db_path, f"UPDATE clinical_entry SET fields = '{fields}' WHERE seq = 2")
    assert main([*args, "--db", f"sqlite:///{db_path}"]) == 0
    err = capsys.readouterr().err
    assert err == (
        "kapmonitor: warning: the audit trail does not vouch for this record as exported: clinical_entry session "
        f"{recorded} entry 2 (bolus by RN Ito): edited: mg 28 -> 84 (audit_entry 5 recorded the original)\n"
    )


ENGINE = "tcp://engine.clinic.test:2575"


def queue_two(db_path: Path, session: int) -> None:
    engine = open_database(f"sqlite:///{db_path}")
    try:
        messages = [QueuedMessage(f"KAP{session}E2", 1, "MSH|...|OBX|1|NM|KAP-DOSE||28|mg"),
                    QueuedMessage(f"KAP{session}E4", 2, "MSH|...|OBX|1|NM|KAP-DOSE||14|mg")]
        assert Hl7Outbox(engine).enqueue(ENGINE, messages, session) == 2
        assert Hl7Outbox(engine).enqueue(ENGINE, messages, session) == 0  # nothing new: nothing audited
    finally:
        engine.dispose()


def test_queued_hl7_messages_are_vouched_for_and_their_sending_state_may_change(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_two(db_path, recorded)
    tamper(db_path, "UPDATE hl7_outbox SET attempts = 3, last_error = 'AR: unknown patient'")
    status, out = verify(db_path, capsys)
    assert status == 0
    assert out[0].startswith("audit trail intact: 15 entries, 14 rows of the record; head 15:")


def test_an_hl7_message_edited_before_it_is_sent_or_deleted_is_named(
    recorded: int, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_two(db_path, recorded)
    tamper(
        db_path,
        "UPDATE hl7_outbox SET message = replace(message, '|28|', '|84|') WHERE control_id LIKE '%E2'",
        "DELETE FROM hl7_outbox WHERE control_id LIKE '%E4'",
    )
    assert problems(db_path, capsys) == [
        f"hl7_outbox message 1 (KAP{recorded}E2): edited: what it says or where it goes differs from what "
        "audit_entry 15 recorded",
        f"hl7_outbox message 2 (KAP{recorded}E4): deleted: the row is gone (audit_entry 15 recorded it)",
    ]
