"""The audit trail is a hash chain: any edit, deletion, insertion or reordering is found and named."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
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
from kapmonitor.store.audit_key import audit_key
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


def installation_key() -> bytes:
    key = audit_key(create=False)
    assert key is not None
    return key


def forged_row(seq: int, prev_hash: str, action: str, key: bytes | None = None) -> str:
    """An attacker who knows the scheme writes a row with a correct hash for its position: a plain sha256
    without the installation key, or the keyed hash when they hold the key too."""
    payload = "{}"
    row = canonical_json(
        {"seq": seq, "t_us": 1, "user": "eve", "action": action, "subject": "", "payload": payload}
    )
    message = (prev_hash + row).encode()
    digest = (
        hashlib.sha256(message).hexdigest() if key is None else hmac.new(key, message, hashlib.sha256).hexdigest()
    )
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
    keyed = hmac.new(installation_key(), (entries[0].hash + row).encode(), hashlib.sha256).hexdigest()
    assert dose.hash == keyed
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
        "audit_entry 2 (clinical.add): edited or forged: its contents no longer match its keyed hash"
    ]


def test_an_edit_with_a_recomputed_hash_breaks_the_link_to_the_next_entry(
    trail: AuditTrail, db_path: Path
) -> None:
    e = trail.entries()[3]
    forged = Entry(e.seq, e.t_us, e.user, e.action, e.subject, '{"low":85,"was":92}', e.prev_hash, "")
    tamper(  # someone holding the key as well as the file, rewriting one entry
        db_path,
        f"UPDATE audit_entry SET payload = '{forged.payload}', "
        f"hash = '{forged.computed_hash(installation_key())}' WHERE seq = 4",
    )
    (problem,) = trail.verify().problems
    assert (problem.seq, problem.action) == (5, "session.sign")
    assert "does not follow audit_entry 4" in problem.what and "gone or was changed" in problem.what


def test_a_whole_chain_rewritten_without_the_key_is_not_sealed(trail: AuditTrail, db_path: Path) -> None:
    """The stdlib rewrite the issue describes: edit an entry, recompute every sha256 after it."""
    entries = trail.entries()
    statements, prev = [], entries[2].prev_hash
    for e in entries[2:]:
        payload = '{"entry":2,"mg":60,"reason":"typo"}' if e.seq == 3 else e.payload
        rewritten = Entry(e.seq, e.t_us, e.user, e.action, e.subject, payload, prev, "")
        digest = rewritten.computed_hash(None)
        statements.append(
            f"UPDATE audit_entry SET payload = '{payload}', prev_hash = '{prev}', hash = '{digest}' "
            f"WHERE seq = {e.seq}"
        )
        prev = digest
    tamper(db_path, *statements)
    report = trail.verify()
    assert report.broken_seqs()[0] == 3
    assert "not sealed with this installation's key (audit_entries 3-6)" in report.problems[0].what


def test_a_deleted_entry_is_named_by_the_gap_it_leaves(trail: AuditTrail, db_path: Path) -> None:
    tamper(db_path, "DELETE FROM audit_entry WHERE seq = 3")
    (problem,) = trail.verify().problems
    assert (problem.seq, problem.action) == (4, "alarm.limit_change")
    assert problem.what.startswith("audit_entry 3 missing before it (deleted)")


def test_deleting_and_renumbering_still_breaks_the_chain(trail: AuditTrail, db_path: Path) -> None:
    tamper(
        db_path, "DELETE FROM audit_entry WHERE seq = 3", "UPDATE audit_entry SET seq = seq - 1 WHERE seq > 3"
    )
    report = trail.verify()
    assert report.broken_seqs() == [3, 4, 5, 6]  # 6: this installation wrote an entry 6, now gone
    assert "moved: it was written as audit_entry 4" in report.problems[0].what
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
        forged_row(4, third.hash, "session.sign", installation_key()),
    )
    report = trail.verify()
    inserted = report.problems[0]
    assert (inserted.seq, inserted.action) == (4, "session.sign")
    assert inserted.what.startswith("inserted")
    assert report.problems[1].seq == 5 and "written right after audit_entry 3" in report.problems[1].what


def test_an_entry_forged_onto_the_end_without_the_chain_is_named(trail: AuditTrail, db_path: Path) -> None:
    tamper(db_path, forged_row(7, trail.head()[1], "session.sign"))
    (problem,) = trail.verify().problems
    assert (problem.seq, problem.action) == (7, "session.sign")
    assert problem.what.startswith("not sealed with this installation's key (this entry)")


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
        and "written as audit_entry 4" in first.what
        and "out of order" in first.what
    )
    assert "written as audit_entry 3" in report.problems[1].what


def test_a_cut_short_trail_is_caught_by_what_this_installation_remembers(
    trail: AuditTrail, db_path: Path
) -> None:
    tamper(db_path, "DELETE FROM audit_entry WHERE seq >= 5")
    (problem,) = trail.verify().problems  # a shorter chain is still a chain, but this installation wrote 6
    assert str(problem) == (
        "audit_entry 6 (?): missing: this installation wrote it, but the trail now ends before it "
        "(entries were deleted, or the database was replaced by an older copy)"
    )


def test_a_cut_short_trail_is_caught_elsewhere_with_a_printed_anchor(
    trail: AuditTrail, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchor = trail.head()
    assert anchor[0] == 6
    tamper(db_path, "DELETE FROM audit_entry WHERE seq >= 5")
    ours = Path(os.environ["KAPMONITOR_AUDIT_KEY_FILE"])
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(tmp_path / "reviewer"))  # another workstation, same key
    (tmp_path / "reviewer").mkdir()
    key_file = tmp_path / "reviewer" / "audit.key"
    key_file.write_bytes(ours.read_bytes())
    key_file.chmod(0o600)
    monkeypatch.setenv("KAPMONITOR_AUDIT_KEY_FILE", str(key_file))
    assert trail.verify().intact  # this workstation never wrote to it: only the printed head tells
    (problem,) = trail.verify(anchor=(anchor[0], anchor[1][:16])).problems
    assert problem.seq == 6 and "missing: the anchor given names it" in problem.what


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
    head = trail.head()
    assert capsys.readouterr().out.strip() == (
        f"audit trail intact: 6 entries, 0 rows of the record; head 6:{head[1]}"
    )
    tamper(
        db_path, "UPDATE audit_entry SET user = 'eve' WHERE seq = 5", "DELETE FROM audit_entry WHERE seq = 2"
    )
    assert main(["audit", "verify", "--db", url]) == 1
    out = capsys.readouterr().out
    assert out.startswith("audit trail BROKEN: 2 problems in 5 entries, 0 rows of the record\n")
    assert "audit_entry 3 (clinical.amend): audit_entry 2 missing before it (deleted)" in out
    assert "audit_entry 5 (session.sign): edited" in out


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
