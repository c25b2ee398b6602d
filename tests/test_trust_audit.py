"""The audit trail is a hash chain: any edit, deletion, insertion or reordering is found and named."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text
from store_fakes import rows

from kapmonitor.cli import main
from kapmonitor.store.audit import GENESIS, AuditTrail, Entry, canonical_json
from kapmonitor.store.db import open_database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def trail(engine: Engine) -> AuditTrail:
    trail = AuditTrail(engine)
    trail.append("ada", "login", "ada")
    trail.append("nina", "clinical.add", "session 1", {"kind": "dose", "drug": "ketamine", "mg": 35})
    trail.append("nina", "clinical.amend", "session 1", {"entry": 2, "mg": 30, "reason": "typo"})
    trail.append("tim", "alarm.limit_change", "spo2", {"low": 90, "was": 92})
    trail.append("dr.lee", "session.sign", "session 1")
    trail.append("tim", "device.change", "nonin-df7@/dev/ttyUSB0", {"added": True})
    return trail


def tamper(db_path: Path, *sql: str) -> None:
    """What someone with the database file can do: drop the guards, then change rows."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_entry_no_update")
    conn.execute("DROP TRIGGER audit_entry_no_delete")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def forged_row(seq: int, prev_hash: str, action: str) -> str:
    """An attacker who knows the scheme writes a row with a correct hash for its position."""
    payload = "{}"
    row = canonical_json(
        {"seq": seq, "t_us": 1, "user": "eve", "action": action, "subject": "", "payload": payload}
    )
    digest = hashlib.sha256((prev_hash + row).encode()).hexdigest()
    return (
        "INSERT INTO audit_entry (seq, t_us, user, action, subject, payload, prev_hash, hash) "
        f"VALUES ({seq}, 1, 'eve', '{action}', '', '{payload}', '{prev_hash}', '{digest}')"
    )


def test_each_entry_hashes_its_canonical_row_onto_the_previous_hash(trail: AuditTrail) -> None:
    entries = trail.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    dose = entries[1]
    row = json.dumps(
        {
            "action": "clinical.add",
            "payload": '{"drug":"ketamine","kind":"dose","mg":35}',
            "seq": 2,
            "subject": "session 1",
            "t_us": dose.t_us,
            "user": "nina",
        },
        separators=(",", ":"),
    )
    assert dose.hash == hashlib.sha256((entries[0].hash + row).encode()).hexdigest()
    assert dose.data() == {"kind": "dose", "drug": "ketamine", "mg": 35}
    assert trail.verify().intact and trail.verify().entries == 6


def test_payloads_must_be_plain_json(trail: AuditTrail) -> None:
    with pytest.raises(ValueError, match="plain JSON"):
        trail.append("nina", "clinical.add", "", {"when": object()})
    with pytest.raises(ValueError, match="plain JSON"):
        trail.append("nina", "clinical.add", "", {"mg": float("nan")})
    assert trail.count() == 6


def test_sqlite_refuses_updates_and_deletes_of_audit_rows(trail: AuditTrail, engine: Engine) -> None:
    for statement in (
        "UPDATE audit_entry SET user = 'eve' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 6",
    ):
        with pytest.raises(exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert trail.count() == 6 and trail.verify().intact


def test_an_edited_entry_is_named(trail: AuditTrail, db_path: Path) -> None:
    tamper(
        db_path,
        """UPDATE audit_entry SET payload = '{"drug":"ketamine","kind":"dose","mg":25}' WHERE seq = 2""",
    )
    report = trail.verify()
    assert not report.intact
    assert [str(p) for p in report.problems] == [
        "entry 2 (clinical.add): edited: its contents no longer match its hash"
    ]


def test_an_edit_with_a_recomputed_hash_breaks_the_link_to_the_next_entry(
    trail: AuditTrail, db_path: Path
) -> None:
    e = trail.entries()[3]
    forged = Entry(e.seq, e.t_us, e.user, e.action, e.subject, '{"low":85,"was":92}', e.prev_hash, "")
    tamper(
        db_path,
        f"UPDATE audit_entry SET payload = '{forged.payload}', hash = '{forged.computed_hash()}' WHERE seq = 4",
    )
    (problem,) = trail.verify().problems
    assert (problem.seq, problem.action) == (5, "session.sign")
    assert "does not follow entry 4" in problem.what and "gone or was changed" in problem.what


def test_a_deleted_entry_is_named_by_the_gap_it_leaves(trail: AuditTrail, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit_entry WHERE seq = 3")
    (problem,) = trail.verify().problems
    assert (problem.seq, problem.action) == (4, "alarm.limit_change")
    assert problem.what.startswith("entry 3 missing before it (deleted)")


def test_deleting_and_renumbering_still_breaks_the_chain(trail: AuditTrail, db_path: Path) -> None:
    tamper(
        db_path, "DELETE FROM audit_entry WHERE seq = 3", "UPDATE audit_entry SET seq = seq - 1 WHERE seq > 3"
    )
    report = trail.verify()
    assert report.broken_seqs() == [3, 4, 5]
    assert "moved: it was written as entry 4" in report.problems[0].what
    assert "gone or was changed" in report.problems[0].what


def test_an_inserted_entry_is_named_even_with_a_correct_hash_of_its_own(
    trail: AuditTrail, db_path: Path
) -> None:
    third = trail.entries()[2]
    tamper(
        db_path,
        # The table's unique prev_hash refuses a second entry after entry 3, so the forger rebuilds it without.
        "CREATE TABLE loose AS SELECT * FROM audit_entry",
        "DROP TABLE audit_entry",
        "ALTER TABLE loose RENAME TO audit_entry",
        "UPDATE audit_entry SET seq = seq + 100 WHERE seq > 3",
        "UPDATE audit_entry SET seq = seq - 99 WHERE seq > 100",
        forged_row(4, third.hash, "session.sign"),
    )
    report = trail.verify()
    inserted = report.problems[0]
    assert (inserted.seq, inserted.action) == (4, "session.sign")
    assert inserted.what.startswith("inserted")
    assert report.problems[1].seq == 5 and "written right after entry 3" in report.problems[1].what


def test_an_entry_forged_onto_the_end_without_the_chain_is_named(trail: AuditTrail, db_path: Path) -> None:
    tamper(db_path, forged_row(7, "f" * 64, "session.sign"))
    (problem,) = trail.verify().problems
    assert (problem.seq, problem.action) == (7, "session.sign")


def test_two_swapped_entries_are_named_as_out_of_order(trail: AuditTrail, db_path: Path) -> None:
    tamper(
        db_path,
        "UPDATE audit_entry SET seq = 100 WHERE seq = 3",
        "UPDATE audit_entry SET seq = 3 WHERE seq = 4",
        "UPDATE audit_entry SET seq = 4 WHERE seq = 100",
    )
    report = trail.verify()
    assert report.broken_seqs() == [3, 4, 5]
    first = report.problems[0]
    assert (
        first.action == "alarm.limit_change"
        and "written as entry 4" in first.what
        and "out of order" in first.what
    )
    assert "written as entry 3" in report.problems[1].what


def test_a_cut_short_trail_is_caught_with_an_anchor_kept_elsewhere(trail: AuditTrail, db_path: Path) -> None:
    anchor = trail.head()
    assert anchor[0] == 6
    tamper(db_path, "DELETE FROM audit_entry WHERE seq >= 5")
    assert trail.verify().intact  # a shorter chain is still a chain ...
    (problem,) = trail.verify(anchor=anchor).problems  # ... but not the one that was anchored
    assert problem.seq == 6 and "cut short" in problem.what


def test_appends_from_many_threads_stay_one_chain(engine: Engine) -> None:
    trails = [AuditTrail(engine) for _ in range(4)]

    def work(k: int) -> None:
        for i in range(15):
            trails[k].append(f"user{k}", "clinical.add", f"entry {i}")

    threads = [threading.Thread(target=work, args=(k,), name=f"kapmonitor-test-audit-{k}") for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = AuditTrail(engine).verify()
    assert report.intact and report.entries == 60


def test_a_second_connection_appending_between_our_appends_keeps_the_chain(
    engine: Engine, db_path: Path
) -> None:
    ours, theirs = AuditTrail(engine), AuditTrail(open_database(f"sqlite:///{db_path}"))
    for i in range(5):
        ours.append("ada", "login", str(i))
        theirs.append("bob", "login", str(i))
    theirs.engine.dispose()
    assert ours.verify().intact and ours.count() == 10


def test_audit_verify_command_reports_intact_and_broken_trails(
    trail: AuditTrail, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{db_path}"
    assert main(["audit", "verify", "--db", url]) == 0
    assert capsys.readouterr().out.strip() == "audit trail intact: 6 entries"
    tamper(
        db_path, "UPDATE audit_entry SET user = 'eve' WHERE seq = 5", "DELETE FROM audit_entry WHERE seq = 2"
    )
    assert main(["audit", "verify", "--db", url]) == 1
    out = capsys.readouterr().out
    assert "entry 3 (clinical.amend): entry 2 missing before it (deleted)" in out
    assert "entry 5 (session.sign): edited" in out


APPENDING_PROCESS = """
import sys
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import engine_for
trail = AuditTrail(engine_for(sys.argv[1]))
for i in range(int(sys.argv[2])):
    trail.append("bob", "clinical.add", f"other process {i}")
"""


def test_another_process_appending_at_the_same_time_keeps_one_chain(engine: Engine, db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    other = subprocess.Popen(
        [sys.executable, "-c", APPENDING_PROCESS, url, "40"], stderr=subprocess.PIPE, text=True
    )
    ours = AuditTrail(engine)
    for i in range(40):
        ours.append("ada", "clinical.add", f"this process {i}")
    _, err = other.communicate(timeout=60)
    assert other.returncode == 0, err
    report = ours.verify()
    assert report.intact and report.entries == 80
    assert {e.user for e in ours.entries()} == {"ada", "bob"}


def test_migration_0004_adds_the_trust_tables_and_guards_and_takes_them_away_again(db_path: Path) -> None:
    from alembic import command

    from kapmonitor.store.db import alembic_config

    engine = open_database(f"sqlite:///{db_path}")
    try:
        names = {
            r[0] for r in rows(engine, "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        }
        assert {"user_account", "audit_entry", "session_owner"} <= names
        assert {"audit_entry_no_update", "audit_entry_no_delete"} <= names
        command.downgrade(alembic_config(engine), "0001")
        names = {r[0] for r in rows(engine, "SELECT name FROM sqlite_master")}
        assert not names & {"user_account", "audit_entry", "session_owner", "audit_entry_no_update"}
        assert "session" in names
    finally:
        engine.dispose()
