"""Beds: each station names its chair, the session keeps it, and a session is written at one bed only.

Runs on SQLite and on the test run's PostgreSQL server (``db_url``), as a clinic's stations would share it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from sqlalchemy import insert

from kapmonitor.bed.station import Station
from kapmonitor.cli import main
from kapmonitor.core.beds import configured_bed
from kapmonitor.core.clock import now_us
from kapmonitor.store.db import open_database
from kapmonitor.store.recovery import SessionHeldElsewhere, SessionRecovery
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.tables import SessionOwner

SHIPPED = Path(__file__).parents[1] / "resources" / "scenarios"


def listed(db_url: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["sessions", "list", "--json", "--db", db_url]) == 0
    return json.loads(capsys.readouterr().out)


def test_record_and_replay_store_their_bed_and_sessions_list_shows_it(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["record", "--simulate", "nonin-df7", "--duration", "0.5", "--bed", "chair 2", "--db", db_url]) == 0
    scenario = sorted(SHIPPED.glob("*.toml"))[0]
    assert main(["replay", str(scenario), "--bed", "chair 3", "--db", db_url]) == 0
    sessions = listed(db_url, capsys)
    assert [s["bed"] for s in sessions] == ["chair 2", "chair 3"]


def test_without_bed_the_configured_one_is_used_else_the_computer_name(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert configured_bed() == socket.gethostname()
    config = tmp_path / "config"
    config.mkdir()
    (config / "bed").write_text("Chair 4 (window)\n")
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(config))
    assert main(["record", "--simulate", "nonin-df7", "--duration", "0.3", "--db", db_url]) == 0
    monkeypatch.setenv("KAPMONITOR_BED", "chair 5")
    assert main(["record", "--simulate", "nonin-df7", "--duration", "0.3", "--db", db_url]) == 0
    assert [s["bed"] for s in listed(db_url, capsys)] == ["Chair 4 (window)", "chair 5"]


@pytest.mark.parametrize("bed, message", [("  ", "a bed needs a name"), ("x" * 101, "at most 100"),
                                          ("chair\t2", "control characters")])
def test_a_bad_bed_name_is_one_line_and_records_nothing(
    bed: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never.sqlite"
    assert main(["record", "--simulate", "nonin-df7", "--bed", bed, "--db", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor: ") and message in err and err.count("\n") == 1
    assert not db.exists()


def test_a_session_held_by_a_live_station_elsewhere_cannot_be_claimed(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        session_id = SessionRepository(engine).start_session("SIM-0001", bed="chair 1")
        with engine.begin() as conn:  # the station at chair 1 runs on another computer and beat just now
            conn.execute(insert(SessionOwner.__table__).values(
                session_id=session_id, bed="chair 1", hostname="station-chair-1", pid=4242, process_start="1",
                claimed_us=now_us(), heartbeat_us=now_us()))
        with pytest.raises(SessionHeldElsewhere, match="at bed 'chair 1' by process 4242 on station-chair-1"):
            SessionRecovery(engine).claim(session_id, "chair 1")
        with pytest.raises(SessionHeldElsewhere, match="belongs to bed 'chair 1'; it cannot be recorded at bed"):
            SessionRecovery(engine).claim(session_id, "chair 2")
    finally:
        engine.dispose()


def test_an_interrupted_session_resumes_only_at_its_own_bed(db_url: str) -> None:
    engine = open_database(db_url)
    session_id = SessionRepository(engine).start_session("SIM-0001", bed="chair 1")
    with engine.begin() as conn:  # chair 1's computer died: its owner row was last refreshed long ago
        conn.execute(insert(SessionOwner.__table__).values(
            session_id=session_id, bed="chair 1", hostname="station-chair-1", pid=4242, process_start="1",
            claimed_us=0, heartbeat_us=0))
    engine.dispose()
    elsewhere = Station(db_url, bed="chair 2")
    try:
        with pytest.raises(SessionHeldElsewhere, match="belongs to bed 'chair 1'"):
            elsewhere.resume_session(session_id)
        assert elsewhere.session_id is None
    finally:
        elsewhere.stop()
    home = Station(db_url, bed="chair 1")
    try:
        home.resume_session(session_id)
        assert home.session_id == session_id
    finally:
        home.stop()
