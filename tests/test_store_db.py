"""The schema comes from Alembic migrations, from an empty database on; upgrading twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, exc, inspect, text

from kapmonitor.cli import main
from kapmonitor.store.db import engine_for, open_database, upgrade

TABLES = {
    "patient", "session", "device", "numeric_reading", "wave_chunk", "link_event", "alembic_version",
    "numeric_block", "wave_block",
}


def _head() -> str:

    from kapmonitor.store.db import MIGRATIONS

    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def test_upgrade_creates_the_schema_from_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'k.sqlite'}"
    assert upgrade(url) == url
    engine = engine_for(url)
    try:
        schema = inspect(engine)
        assert set(schema.get_table_names()) >= TABLES  # later revisions add their own tables
        indexed = {tuple(i["column_names"]) for i in schema.get_indexes("numeric_reading")}
        # The staging area: a session's staged readings in time order (0009).
        assert ("session_id", "t_us") in indexed
        indexed = {tuple(i["column_names"]) for i in schema.get_indexes("numeric_block")}
        assert ("session_id", "device_id", "metric", "first_row") in indexed
        indexed = {tuple(i["column_names"]) for i in schema.get_indexes("wave_chunk")}
        assert ("session_id", "device_id", "metric", "t_us") in indexed
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()
    finally:
        engine.dispose()


def test_db_upgrade_command_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO patient (code) VALUES ('KEEP-ME')"))
    engine.dispose()
    assert main(["db", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.count(f"database is at the newest schema: {url}") == 2
    engine = engine_for(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT code FROM patient")).scalars().all() == ["KEEP-ME"]
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_without_db_the_default_database_lives_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(tmp_path / "data"))
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "data" / "kapmonitor.sqlite").is_file()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'k.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() > 0
    engine.dispose()


@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", "cannot use database not a url: Could not parse"),
        (
            "postgresql+nosuchdriver://clinic:secret@db/kap",
            "cannot use database postgresql+nosuchdriver://clinic:***@db/kap",
        ),
    ],
)
def test_an_unusable_database_url_is_one_clear_line(
    url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kapmonitor: {message}") and err.count("\n") == 1 and "secret" not in err


def test_a_file_that_is_not_a_database_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("dose log, not a database\n" * 100)
    url = f"sqlite:///{tmp_path / 'notes.txt'}"
    assert main(["sessions", "list", "--db", url]) == 2
    assert capsys.readouterr().err == f"kapmonitor: cannot open database {url}: file is not a database\n"


def test_staged_readings_are_read_by_session_and_time_and_0009_and_0005_go_back_down(tmp_path: Path) -> None:
    from alembic import command

    from kapmonitor.store.db import alembic_config

    engine = open_database(f"sqlite:///{tmp_path / 'cover.sqlite'}")
    try:
        with engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT device_id, metric, t_us, id, value, flags FROM numeric_reading"
                    " WHERE session_id = 1 ORDER BY t_us, id"
                )
            ).all()
        assert "INDEX ix_numeric_session_time" in " ".join(str(row[-1]) for row in plan)
        command.downgrade(alembic_config(engine), "0008")
        names = {i["name"] for i in inspect(engine).get_indexes("numeric_reading")}
        assert names == {"ix_numeric_track_cover"}
        assert "numeric_block" not in inspect(engine).get_table_names()
        command.downgrade(alembic_config(engine), "0004")
        names = {i["name"] for i in inspect(engine).get_indexes("numeric_reading")}
        assert names == {"ix_numeric_track_time"}
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "table, statement",
    [
        ("audit_entry", "UPDATE audit_entry SET action = 'forged'"),
        ("audit_entry", "DELETE FROM audit_entry"),
        ("clinical_entry", "UPDATE clinical_entry SET author = 'someone else'"),
        ("clinical_entry", "DELETE FROM clinical_entry"),
    ],
)
def test_the_database_refuses_to_change_the_audit_trail_and_clinical_entries(
    engine: Engine, table: str, statement: str
) -> None:
    """On SQLite and on PostgreSQL alike, the migrations' triggers refuse edits of append-only rows."""
    from kapmonitor.session.entries import Note
    from kapmonitor.store.audit import AuditTrail
    from kapmonitor.store.clinical_log import ClinicalLog
    from kapmonitor.store.repository import SessionRepository

    session_id = SessionRepository(engine).start_session("SIM-0001")
    AuditTrail(engine).append("nurse", "session.start", f"session {session_id}")
    ClinicalLog(engine, session_id).add(Note(t_us=1, entered_us=1, author="nurse", text="calm"))
    count = f"SELECT count(*), min(t_us) FROM {table}"
    with engine.connect() as conn:
        before = conn.execute(text(count)).one()
    with pytest.raises(exc.DBAPIError, match="never changed|append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text(count)).one() == before and before[0] >= 1


def test_a_postgresql_server_that_does_not_answer_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from kapmonitor.store.pg_server import free_port

    url = f"postgresql+psycopg://kapmonitor@127.0.0.1:{free_port()}/clinic"  # nothing listens there
    assert main(["sessions", "list", "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kapmonitor: cannot open database {url}: connection") and err.count("\n") == 1


def test_stations_upgrading_one_database_at_once_all_open_it(db_url: str, tmp_path: Path) -> None:
    """Four processes released together onto an empty database (a clinic's stations starting after an update):
    one runs the migrations, the others wait for it and find the schema current. Before the upgrade lock, all
    but one could fail with "table ... already exists"."""
    import subprocess
    import sys

    go = tmp_path / "go"
    script = (
        "import sys, time, pathlib\n"
        "from kapmonitor.store.db import upgrade\n"
        "go = pathlib.Path(sys.argv[2])\n"
        "while not go.exists(): time.sleep(0.005)\n"
        "upgrade(sys.argv[1])\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, db_url, str(go)], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    ready = tmp_path / "ready"
    ready.write_text("")
    ready.rename(go)
    failures = [w.communicate(timeout=120)[1] for w in workers if w.wait(timeout=120) != 0]
    assert failures == []
    engine = engine_for(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head()]
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
